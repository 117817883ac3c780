import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { buildBundle, copyOf, p256Signer } from '../support/evidence-bundle.js';

/** `npm run verify -- <bundle>` (scripts/verify.ts) as a user runs it: exit status and lines. */
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'verify-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const { bundle, publicKeyPem } = await buildBundle({ pendingCount: 1 });
const write = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const good = write('bundle.json', JSON.stringify(bundle, null, 2));
const pem = write('pub.pem', publicKeyPem);

function verify(...args: string[]) {
  const run = spawnSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'scripts/verify.ts'), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, out: run.stdout, err: run.stderr };
}

describe('npm run verify -- <bundle>', () => {
  it('exits 0 with one ok line per check group, under the pinned key', () => {
    const { status, out, err } = verify(good, '--key', pem);
    expect(err).toBe('');
    expect(status).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe(`key: pinned from ${pem}: ok`);
    expect(lines[1]).toBe(`checkpoints: ${bundle.checkpoints.length} signed checkpoints of org ${bundle.org_id}, the latest of size ${bundle.checkpoint.tree_size} issued ${bundle.checkpoint.issued_at}: ok`);
    expect(lines[2]).toBe(`consistency: ${bundle.checkpoints.length - 1} earlier checkpoints are prefixes of the latest (RFC 9162): ok`);
    expect(lines[3]).toBe(`events: ${bundle.events.length} events' records, raw bytes, leaves and inclusion proofs: ok`);
    expect(lines[4]).toBe(`leads: the events' leaves name ${[...new Set(bundle.events.map((e) => e.leaf.lead_id))].join(', ')}`);
    expect(lines[5]).toMatch(/^pending: 1 events/);
    expect(lines.at(-1)).toBe('verified: every check holds');
  });

  it('says when the key came from the bundle itself', () => {
    const { status, out } = verify(good);
    expect(status).toBe(0);
    expect(out).toContain('key: taken from the bundle itself (pin the one you trust with --key): ok');
  });

  it('exits 1 naming the event and the check when a record was edited, and the key when it is not the pinned one', () => {
    const tampered = copyOf(bundle);
    tampered.events[0]!.record = tampered.events[0]!.record.replace('"success"', '"failure"');
    const { status, out } = verify(write('tampered.json', JSON.stringify(tampered)), '--key', pem);
    expect(status).toBe(1);
    expect(out).toContain('events: ');
    expect(out).toContain(`  FAIL event "${bundle.events[0]!.id}": SHA-256(record) is not leaf.content_hash (the record was changed)`);
    expect(out.trim().split('\n').at(-1)).toBe('NOT verified: 1 checks fail');
    const other = write('other.pem', p256Signer().publicKeyPem);
    const wrongKey = verify(good, '--key', other);
    expect(wrongKey.status).toBe(1);
    expect(wrongKey.out).toContain("  FAIL key: the bundle's public_key is not the pinned key");
  });

  it('exits 1 on JSON that is no bundle, and on lone surrogates escaped in the file', () => {
    expect(verify(write('array.json', '[1,2]')).status).toBe(1);
    const lone = JSON.stringify(bundle).replace('"webform', '"\\ud800webform');
    const { status, out } = verify(write('lone.json', lone), '--key', pem);
    expect(status).toBe(1);
    expect(out).toContain('record is not a well-formed string');
  });

  it('exits 2 with one clear line on usage errors', () => {
    const cases: [string[], RegExp][] = [
      [[], /^verify: name one bundle file$/],
      [[join(dir, 'missing.json')], /^verify: cannot read the bundle .*missing\.json \(ENOENT\)$/],
      [[dir], /^verify: cannot read the bundle .* \(EISDIR\)$/],
      [[write('not.json', '{"format": "leadlog-evidence/1",')], /^verify: .*not\.json is not JSON: /],
      [[good, '--key', join(dir, 'nope.pem')], /^verify: cannot read the key file .*nope\.pem \(ENOENT\)$/],
      [[good, '--bogus'], /^verify: Unknown option '--bogus'/],
      [[good, good], /^verify: name one bundle file, not 2$/],
      [['--org', 'bad org!'], /^verify: --org must match /],
      [['--org', 'org_a', good], /^verify: --org takes no bundle file$/],
      [[good, '--aws'], /^verify: --aws goes with --org$/],
    ];
    for (const [args, line] of cases) {
      const { status, out, err } = verify(...args);
      expect(status, args.join(' ')).toBe(2);
      expect(out).toBe('');
      expect(err.split('\n')[0]).toMatch(line);
    }
  });

  it('--help prints the usage and exits 0', () => {
    const { status, out } = verify('--help');
    expect(status).toBe(0);
    expect(out).toMatch(/^Usage: npm run verify -- <bundle.json> \[--key <public key PEM file>\]/);
  });
});
