import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EvidenceBundle } from '../../shared/domain/evidence.js';
import { hashToBase64 } from '../../shared/domain/proofs.js';
import { buildBundle, copyOf, p256Signer } from '../support/evidence-bundle.js';

/**
 * docs/proof-of-record.md's commands, run as written against a bundle built like the route builds it: the fenced
 * blocks tagged `sh verify-step` (jq, base64, openssl, perl), `go verify-go` + `sh verify-step-go` (Go's sumdb/tlog)
 * and `python verify-python` + `sh verify-step-python`. They must pass on the bundle and fail on tampered copies, so
 * the guide cannot drift from what leadlog writes.
 */
const doc = readFileSync(new URL('../../docs/proof-of-record.md', import.meta.url), 'utf8');
const blocks = [...doc.matchAll(/^```(\S+)(?: ([\w-]+))?\n([\s\S]*?)^```$/gm)].map(([, lang, tag, body]) => ({ lang: lang!, tag, body: body! }));
const tagged = (tag: string): string[] => blocks.filter((block) => block.tag === tag).map((block) => block.body);

const { bundle, publicKeyPem } = await buildBundle({ size: 40, leadEvery: 5, checkpointSizes: [3, 9, 16, 33, 40], pendingCount: 1 });
const root = mkdtempSync(join(tmpdir(), 'proof-docs-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let runs = 0;
/** Runs `script` with bash in a fresh folder holding bundle.json and pub.pem (and the tools built below). */
function run(script: string, input: EvidenceBundle, pem = publicKeyPem, env: Record<string, string> = {}) {
  const dir = join(root, `run${runs++}`);
  spawnSync('mkdir', ['-p', dir]);
  writeFileSync(join(dir, 'bundle.json'), JSON.stringify(input, null, 2));
  writeFileSync(join(dir, 'pub.pem'), pem);
  for (const tool of ['tlogcheck', 'rfc9162.py']) if (existsSync(join(root, tool))) spawnSync('cp', [join(root, tool), dir]);
  const result = spawnSync('bash', ['-c', `set -euo pipefail\n${script}`], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: result.status, out: result.stdout, err: result.stderr };
}

const shellSteps = tagged('verify-step').join('\n');

/** Tampered copies every route of the guide must refuse. */
const tampers: [string, (copy: EvidenceBundle) => void][] = [
  ['a record edited', (c) => { c.events[1]!.record = c.events[1]!.record.replace('"success"', '"failure"'); }],
  ['a record and its content hash edited', (c) => {
    c.events[1]!.record = c.events[1]!.record.replace('"success"', '"failure"');
    (c.events[1]!.leaf as { content_hash: string }).content_hash = spawnSync('sha256sum', { input: c.events[1]!.record, encoding: 'utf8' }).stdout.slice(0, 64);
  }],
  ["the leaf's lead_id", (c) => { (c.events[0]!.leaf as { lead_id: string }).lead_id = 'lead_other'; }],
  ['raw bytes replaced', (c) => { const e = c.events.find((x) => x.raw !== null)!; e.raw = Buffer.from('{"n":0}').toString('base64'); }],
  ['raw bytes dropped', (c) => { c.events.find((x) => x.raw !== null)!.raw = null; }],
  ['a checkpoint body edited', (c) => { c.checkpoints[0]!.body = c.checkpoints[0]!.body.replace('issued_at 2026', 'issued_at 2025'); }],
  ['a signature flipped', (c) => { const s = Buffer.from(c.checkpoints[1]!.signature, 'base64'); s[10]! ^= 1; c.checkpoints[1]!.signature = s.toString('base64'); }],
  ['a leaf index past the tree', (c) => { c.events[0]!.leaf_index = c.checkpoint.tree_size; }],
  ['a first checkpoint that is not in the bundle', (c) => { c.events[0]!.first_checkpoint_size = 7; }],
];

describe('docs/proof-of-record.md', () => {
  it('has the tagged blocks this test runs', () => {
    expect(tagged('verify-step').length).toBeGreaterThanOrEqual(3);
    expect(tagged('verify-go')).toHaveLength(1);
    expect(tagged('verify-step-go')).toHaveLength(2);
    expect(tagged('verify-python')).toHaveLength(1);
    expect(tagged('verify-step-python')).toHaveLength(1);
    expect(bundle.events.length).toBeGreaterThanOrEqual(6);
    expect(bundle.events.some((e) => e.raw !== null) && bundle.events.some((e) => e.raw === null)).toBe(true);
  });

  it('its shell steps (jq, base64, openssl, perl) pass on a correct bundle', () => {
    const { status, out, err } = run(shellSteps, bundle);
    expect(err).toBe('');
    expect(status).toBe(0);
    expect(out.match(/^Verified OK$/gm)).toHaveLength(bundle.checkpoints.length);
  });

  it.each(tampers)('its shell steps fail on a bundle with %s', (_name, tamper) => {
    const copy = copyOf(bundle);
    tamper(copy);
    expect(run(shellSteps, copy).status).not.toBe(0);
  });

  it('its shell steps fail when the bundle is signed by a key other than the trusted pub.pem', async () => {
    const other = await buildBundle({ size: 40, leadEvery: 5, checkpointSizes: [3, 9, 16, 33, 40] });
    expect(run(shellSteps, other.bundle).status).not.toBe(0);
    // Even when the bundle's own key is swapped for the trusted one, the signatures fail.
    expect(run(shellSteps, { ...other.bundle, public_key: publicKeyPem }).status).not.toBe(0);
    expect(run(shellSteps, bundle, p256Signer().publicKeyPem).status).not.toBe(0);
  });

  const goPath = '/usr/share/gocode';
  const haveGo = spawnSync('go', ['version']).status === 0 && existsSync(join(goPath, 'src/golang.org/x/mod/sumdb/tlog'));
  if (!haveGo) console.log("skipping the guide's Go steps: `go` or Debian's golang-golang-x-mod-dev (/usr/share/gocode) is absent");
  it.skipIf(!haveGo)("its Go program (tlog's CheckRecord and CheckTree) accepts the bundle's proofs and refuses tampered ones", () => {
    writeFileSync(join(root, 'tlogcheck.go'), tagged('verify-go')[0]!);
    const goEnv = { GO111MODULE: 'off', GOPATH: goPath, GOPROXY: 'off', GOFLAGS: '', GOCACHE: join(root, 'gocache') };
    const build = spawnSync('go', ['build', '-o', 'tlogcheck', 'tlogcheck.go'], { cwd: root, encoding: 'utf8', env: { ...process.env, ...goEnv } });
    expect(build.stderr).toBe('');
    expect(build.status).toBe(0);
    const steps = tagged('verify-step-go').join('\n');
    const ok = run(steps, bundle);
    expect(ok.err).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.out.match(/^OK tree$/gm)).toHaveLength(bundle.checkpoints.length - 1);
    expect(ok.out.match(/^OK record$/gm)).toHaveLength(bundle.events.length);
    const proofFlipped = copyOf(bundle);
    proofFlipped.events[2]!.inclusion_proof[0] = hashToBase64(new Uint8Array(32));
    expect(run(steps, proofFlipped).status).not.toBe(0);
    const consistencyFlipped = copyOf(bundle);
    consistencyFlipped.consistency[1]!.proof[0] = hashToBase64(new Uint8Array(32));
    expect(run(steps, consistencyFlipped).status).not.toBe(0);
    const consistencyMissing = copyOf(bundle);
    consistencyMissing.consistency.splice(0, 1);
    expect(run(steps, consistencyMissing).status).not.toBe(0);
  }, 120_000);

  const havePython = spawnSync('python3', ['--version']).status === 0;
  if (!havePython) console.log("skipping the guide's Python snippet: python3 is absent");
  it.skipIf(!havePython)('its Python snippet (RFC 9162 2.1.3.2) accepts every inclusion proof and refuses tampered ones', () => {
    writeFileSync(join(root, 'rfc9162.py'), tagged('verify-python')[0]!);
    const steps = tagged('verify-step-python').join('\n');
    const ok = run(steps, bundle);
    expect(ok.err).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.out.trim().split('\n')).toEqual(bundle.events.map((e) => `${e.id} OK`));
    const flipped = copyOf(bundle);
    flipped.events[3]!.inclusion_proof[1] = hashToBase64(new Uint8Array(32).fill(1));
    expect(run(steps, flipped).status).not.toBe(0);
    const leaf = copyOf(bundle);
    (leaf.events[0]!.leaf as { received_at: string }).received_at = '2026-03-01T11:00:00.000Z';
    expect(run(steps, leaf).status).not.toBe(0);
    const bigger = copyOf(bundle);
    bigger.checkpoint.tree_size += 1; // a size not from the signature: the proof's shape no longer fits
    expect(run(steps, bigger).status).not.toBe(0);
  });
});
