import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../infra/local/dynamo.js';
import { startRuntime, stopRuntime } from '../support/runtime.js';

/**
 * The README's "Try it" examples, run as written by bash against `npm start` on a random port: LEADLOG_URL and
 * LEADLOG_DATA_DIR are the only things set, and `.data/` in the text points at that runtime's data folder.
 * Run twice: the second run must be absorbed (idempotent examples), never a duplicate or a 5xx.
 */
function shellBlocks(markdown: string, from: string, to: string): string[] {
  const section = markdown.slice(markdown.indexOf(from), markdown.indexOf(to));
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

describe("the README's examples", () => {
  it('run as written against npm start on any port, twice, with the status codes the comments promise', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-readme-'));
    const port = await freePort();
    const runtime = startRuntime(dataDir, port);
    await runtime.ready;
    try {
      const [tryIt, errors, privacy] = shellBlocks(readFileSync('README.md', 'utf8'), '## Try it', '### API keys');
      const run = (script: string) => execFileSync('bash', ['-c', `set -eo pipefail\n${script.replaceAll('.data/', `${dataDir}/`)}`], {
        env: { ...process.env, LEADLOG_URL: `http://127.0.0.1:${port}`, LEADLOG_DATA_DIR: dataDir }, encoding: 'utf8', timeout: 60_000,
      });
      const statuses = (output: string) => [...output.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
      expect(statuses(run(tryIt!))).toEqual([201, 200, 200, 200, 200, 201, 200, 200, 200]);
      const again = run(tryIt!);
      expect(statuses(again)).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200]);
      expect(again).toContain('idempotent-replayed: true');
      expect(again).not.toContain('"status":"created"'); // the batch's items are duplicates the second time
      // One shell session, as a reader pastes them: the blocks in order, marked to read each one's statuses.
      const session = `${tryIt}\necho '@@errors'\n${errors}\necho '@@privacy'\n${privacy}`;
      const [, sessionErrors, sessionPrivacy] = run(session).split(/@@errors|@@privacy/);
      expect(statuses(sessionErrors!)).toEqual([400]);
      expect(statuses(sessionPrivacy!)).toEqual([200, 200, 200]);
      expect(sessionPrivacy).toMatch(/"erasure_id":"er_[0-9a-f]{32}"/);
      // Exports and replays, in the same session (KEY and LEADLOG_URL set as above).
      const [exportsBlock] = shellBlocks(readFileSync('README.md', 'utf8'), '## Exports and replays', '## Hardening tools');
      const exported = run(`KEY=$(cat "${dataDir}/dev-api-key")\n${exportsBlock!.replace('--out purchases.parquet', `--out ${join(dataDir, 'purchases.parquet')}`)}`);
      expect(statuses(exported)).toEqual([200, 201, 200]);
      expect(exported).toMatch(/"status":"succeeded".*"url":"http/);
      expect(exported).toMatch(/export: \d+ rows, [\d,]+ bytes → .*purchases\.parquet/);
      expect(exported).toMatch(/\{"matched":\d+\}/);
    } finally {
      expect(await stopRuntime(runtime.child)).toBe(0);
    }
  }, 120_000);
});
