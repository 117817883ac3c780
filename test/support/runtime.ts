import { spawn, type ChildProcess } from 'node:child_process';

/** `npm start` as `npm start` runs it (node with tsx, no wrapper process), with its own data folder and port. */
export function spawnRuntime(dataDir: string, port: number, env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'infra/local/start.ts'], {
    env: { ...process.env, LEADLOG_DATA_DIR: dataDir, PORT: String(port), LEADLOG_QUIET: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A runtime that should start: `ready` resolves on its banner, rejects if it exits first. */
export function startRuntime(dataDir: string, port: number, env: Record<string, string> = {}): { child: ChildProcess; output: () => string; ready: Promise<void> } {
  let output = '';
  const child = spawnRuntime(dataDir, port, { DEV_ORG_ID: 'org_runtime_test', ...env });
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('leadlog is running')) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`npm start exited early (${code}):\n${output}`)));
  });
  return { child, output: () => output, ready };
}

/** Ctrl-C, and the exit code. */
export async function stopRuntime(child: ChildProcess): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGINT');
  return exited;
}
