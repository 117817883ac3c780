import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/dynamo.js';
import { spawnRuntime, startRuntime, stopRuntime } from '../support/runtime.js';

/** Every process whose parent chain leads to `root` (the process table, as `ps` shows it). */
function descendants(root: number): number[] {
  const table = execFileSync('ps', ['-eo', 'pid=,ppid='], { encoding: 'utf8' }).trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [pid, ppid] of table) if (ppid === parent && !found.includes(pid)) (found.push(pid), queue.push(pid));
  }
  return found;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Processes whose command line names this data folder (DynamoDB Local's Java is started with -dbPath inside it). */
const usingFolder = (dir: string) => execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n').filter((line) => line.includes(dir));

async function waitForExit(child: ChildProcess, ms = 20_000): Promise<{ code: number | null; output: string }> {
  let output = '';
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  const code = await Promise.race([
    new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c))),
    new Promise<number | null>((_, reject) => setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${output}`)), ms)),
  ]);
  return { code, output };
}

const runtime = spawnRuntime;

describe('npm start behaves like a proper dev server (contract section 7)', () => {
  it('refuses a second instance on the same data folder in one line, leaving the first untouched', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-single-'));
    const port = await freePort();
    const first = startRuntime(dataDir, port);
    await first.ready;
    const second = runtime(dataDir, await freePort());
    const { code, output } = await waitForExit(second);
    expect(code).toBe(1);
    expect(output).toMatch(/already running .*pid \d+.*http:\/\/127\.0\.0\.1:\d+/);
    expect(output.trim().split('\n')).toHaveLength(1);
    expect((await fetch(`http://127.0.0.1:${port}/v1/health`)).status).toBe(200); // the first still serves
    expect(await stopRuntime(first.child)).toBe(0);
    expect(usingFolder(dataDir)).toEqual([]);
  }, 90_000);

  it('a busy port: one line with the fix, exit 1, nothing left running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-port-'));
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const child = runtime(dataDir, port);
      const { code, output } = await waitForExit(child);
      expect(code).toBe(1);
      expect(output).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(output).toContain(`PORT=${port + 1} npm start`);
      expect(output).not.toMatch(/\n\s+at /); // no stack trace
      expect(usingFolder(dataDir)).toEqual([]);
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('no Java: one line with the fix, exit 1, nothing left running', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-nojava-'));
    const child = runtime(dataDir, await freePort(), { PATH: join(tmpdir(), 'leadlog-empty-path') });
    const { code, output } = await waitForExit(child);
    expect(code).toBe(1);
    expect(output).toMatch(/needs Java.*install/);
    expect(output).not.toMatch(/ENOENT|\n\s+at /);
    expect(usingFolder(dataDir)).toEqual([]);
  }, 60_000);

  it("a subscriber rule EventBridge would refuse stops the start: the rule's name and the reason, exit 1, nothing left running", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-rules-'));
    const rulesFile = join(dataDir, 'leadlog.rules.json');
    writeFileSync(rulesFile, JSON.stringify({ 'cheap-carts': { 'detail-type': ['purchase_abandoned'], detail: { payload: { cart_value: [{ numeric: ['<', 100, '>', 0] }] } } } }));
    const { code, output } = await waitForExit(runtime(dataDir, await freePort(), { LEADLOG_RULES_FILE: rulesFile }));
    expect(code).toBe(1);
    expect(output).toContain("rule 'cheap-carts': detail.payload.cart_value[0]: too many elements");
    expect(output).not.toMatch(/\n\s+at /);
    expect(usingFolder(dataDir)).toEqual([]);
  }, 60_000);

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} to the npm process stops every process npm start started, within 10 s`, async () => {
      const dataDir = mkdtempSync(join(tmpdir(), `leadlog-${signal}-`));
      const port = await freePort();
      const npm = spawn('npm', ['start', '--silent'], { env: { ...process.env, LEADLOG_DATA_DIR: dataDir, PORT: String(port), LEADLOG_QUIET: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      npm.stdout!.on('data', (chunk) => (output += chunk));
      npm.stderr!.on('data', (chunk) => (output += chunk));
      const deadline = Date.now() + 60_000;
      while (!output.includes('leadlog is running') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
      expect(output).toContain('leadlog is running');
      const started = descendants(npm.pid!);
      expect(started.length).toBeGreaterThanOrEqual(2); // the runtime's node, DynamoDB Local's java (and any shell)
      npm.kill(signal);
      const stopBy = Date.now() + 10_000;
      while (started.some(alive) && Date.now() < stopBy) await new Promise((r) => setTimeout(r, 200));
      expect(started.filter(alive), output).toEqual([]);
      expect(usingFolder(dataDir)).toEqual([]);
    }, 90_000);
  }

  it('every tool answers --help with its usage, exit 0, and leaves nothing running', () => {
    const tools = ['infra/local/start.ts', 'infra/local/keys-cli.ts', 'scripts/athena.ts', 'scripts/fuzz.ts', 'scripts/load.ts', 'scripts/webhook-sample.ts', 'scripts/archive.ts', 'scripts/docs-catalogue.ts', 'scripts/export.ts', 'scripts/scale-model.ts', 'scripts/leadconduit.ts', 'scripts/verify.ts', 'test/bench/run.ts'];
    const scripts = JSON.parse(readFileSync('package.json', 'utf8')).scripts as Record<string, string>;
    // Every npm run tool of package.json is in the list (the test runner and its screenshot run, type-check and synth are not ours).
    for (const [name, command] of Object.entries(scripts)) {
      if (['test', 'typecheck', 'synth', 'console:screenshots'].includes(name)) continue;
      expect(tools.some((tool) => command.includes(tool)), name).toBe(true);
    }
    for (const tool of tools) {
      // Other test files (and other runs on the machine) start Java and runtimes meanwhile: a process is the tool's
      // only when it inherited this run's marker (every child inherits the environment), read from /proc.
      const marker = `help-probe-${process.pid}-${tools.indexOf(tool)}-${Date.now()}`;
      const output = execFileSync(process.execPath, ['--import', 'tsx', tool, '--help'], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, LEADLOG_HELP_PROBE: marker } });
      expect(output.split('\n')[0], tool).toMatch(/^Usage: npm (start|run [a-z:]+)/);
      const left = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`LEADLOG_HELP_PROBE=${marker}`);
        } catch {
          return false; // gone, or not ours to read
        }
      });
      expect(left, tool).toEqual([]);
    }
  }, 120_000);
});
