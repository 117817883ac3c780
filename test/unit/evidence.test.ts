import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { verifyBundle, type EvidenceBundle } from '../../shared/domain/evidence.js';
import { MemoryMerkleLog, leafHashOf, rootHash, type LeafRecord } from '../../shared/domain/merkle.js';
import { hashToBase64, recordOf, signCheckpoint } from '../../shared/domain/proofs.js';
import { sha256Hex } from '../../shared/domain/canonical.js';
import { TEST_LEAD, TEST_ORG, buildBundle, copyOf, p256Signer, testEvent, type BuiltBundle } from '../support/evidence-bundle.js';

const built: BuiltBundle = await buildBundle({ pendingCount: 1 });
const { bundle, publicKeyPem } = built;
const pinned = { trustedKeyPem: publicKeyPem };

/** The failures of a tampered copy (pinned key); the tamper must not leave the bundle valid. */
function failuresOf(tamper: (copy: EvidenceBundle & Record<string, unknown>) => void, options = pinned): string[] {
  const copy = copyOf(bundle) as EvidenceBundle & Record<string, unknown>;
  tamper(copy);
  const result = verifyBundle(copy, options);
  expect(result.ok).toBe(false);
  return result.failures;
}

const ev = (copy: EvidenceBundle, i = 1) => copy.events[i]!;
/** The event's leaf, writable (the type is readonly, a tampered copy is not). */
const leafIn = (copy: EvidenceBundle, i = 1) => copy.events[i]!.leaf as { -readonly [K in keyof LeafRecord]: LeafRecord[K] };
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('verifyBundle on a correct bundle', () => {
  it('accepts it under the pinned key and counts what it checked', () => {
    expect(bundle.events.length).toBeGreaterThanOrEqual(4);
    expect(bundle.checkpoints.length).toBeGreaterThanOrEqual(3);
    expect(bundle.events.some((event) => event.raw !== null) && bundle.events.some((event) => event.raw === null)).toBe(true);
    const result = verifyBundle(bundle, pinned);
    expect(result).toMatchObject({ ok: true, failures: [], keySource: 'pinned' });
    expect(result.checked).toEqual({ checkpoints: bundle.checkpoints.length, events: bundle.events.length, pending: 1 });
  });

  it("without a pinned key, accepts it but says the key came from the bundle", () => {
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, keySource: 'bundle' });
  });

  it('survives a JSON round trip (what a file on disk is)', () => {
    expect(verifyBundle(JSON.parse(JSON.stringify(bundle)), pinned).ok).toBe(true);
  });

  it('accepts a bundle with one checkpoint, no consistency proofs, and one with no events but pending ones', async () => {
    const single = await buildBundle({ size: 6, checkpointSizes: [6] });
    expect(single.bundle.checkpoints).toHaveLength(1);
    expect(verifyBundle(single.bundle, { trustedKeyPem: single.publicKeyPem }).ok).toBe(true);
    const none = await buildBundle({ size: 1, leadEvery: 100, checkpointSizes: [1], pendingCount: 2 });
    expect(none.bundle.events).toHaveLength(0);
    expect(verifyBundle(none.bundle, { trustedKeyPem: none.publicKeyPem })).toMatchObject({ ok: true, checked: { events: 0, pending: 2 } });
  });
});

describe('verifyBundle: the key and the checkpoints (step 1)', () => {
  it('refuses a key other than the pinned one, even when the bundle is self-consistent under its own key', async () => {
    const other = await buildBundle();
    expect(verifyBundle(other.bundle).ok).toBe(true); // self-consistent, under a key an attacker chose
    const result = verifyBundle(other.bundle, pinned);
    expect(result.ok).toBe(false);
    expect(result.failures).toContain("key: the bundle's public_key is not the pinned key");
    expect(result.failures.some((line) => /checkpoint \d+ .*does not verify under the pinned key/.test(line))).toBe(true);
  });

  it('refuses a pinned key that is not a P-256 public key PEM', () => {
    expect(verifyBundle(bundle, { trustedKeyPem: 'not a pem' }).failures[0]).toBe('key: the pinned key is not a public key PEM');
    const { publicKey } = generateKeyPairSync('ed25519');
    const ed = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifyBundle(bundle, { trustedKeyPem: ed }).ok).toBe(false);
  });

  it('names a flipped signature bit, an edited body, and a field changed beside its signed body', () => {
    const size = bundle.checkpoint.tree_size;
    const flipped = (sig: string) => { const bytes = Buffer.from(sig, 'base64'); bytes[bytes.length - 1]! ^= 1; return bytes.toString('base64'); };
    expect(failuresOf((c) => { c.checkpoint.signature = flipped(c.checkpoint.signature); c.checkpoints[c.checkpoints.length - 1] = c.checkpoint; }))
      .toContain(`checkpoint ${size} (${bundle.checkpoint.issued_at}): body or signature does not verify under the pinned key`);
    expect(failuresOf((c) => { c.checkpoints[0]!.body = c.checkpoints[0]!.body.replace('\n5\n', '\n6\n'); })
      .some((line) => line.startsWith('checkpoint 5 ') && line.includes('does not verify'))).toBe(true);
    // tree_size says 4 while the signed body says 5: the loose field is not believed.
    expect(failuresOf((c) => { c.checkpoints[0]!.tree_size = 4; c.consistency[0]!.from_size = 4; })
      .some((line) => line.startsWith('checkpoint 4 ') && line.includes('does not verify'))).toBe(true);
    expect(failuresOf((c) => { c.checkpoint.signature = 'AAAA'; })).toContain('checkpoints: the list does not end with the latest checkpoint');
  });

  it("names a checkpoint of another org, even one signed by the org's own key", async () => {
    const foreign = await signCheckpoint({ ...statementOf(bundle.checkpoints[0]!), org_id: 'org_other' }, built.signer);
    const failures = failuresOf((c) => { c.checkpoints[0] = foreign; });
    expect(failures).toContain(`checkpoint 5 (${foreign.issued_at}): of org "org_other", not the bundle's "${TEST_ORG}"`);
  });

  it('names an earlier checkpoint larger or later than the latest, and a list not oldest first', async () => {
    const log = await copyLog();
    await log.append([leafHashOf(leafOf(999))]);
    const bigger = await signCheckpoint({ org_id: TEST_ORG, tree_size: log.size, root_hash: hashToBase64(await rootHash(log, log.size)), issued_at: bundle.checkpoint.issued_at }, built.signer);
    const failures = failuresOf((c) => { c.checkpoints.splice(1, 0, bigger); });
    expect(failures.some((line) => line.includes(`checkpoint ${bigger.tree_size} `) && line.includes('later or larger than the latest'))).toBe(true);
    expect(failuresOf((c) => { c.checkpoints.splice(0, 2, c.checkpoints[1]!, c.checkpoints[0]!); })
      .some((line) => line.includes('not oldest first'))).toBe(true);
  });

  it('names a missing or malformed checkpoint list and checkpoint', () => {
    expect(failuresOf((c) => { delete (c as Record<string, unknown>).checkpoints; })).toContain('checkpoints: not a non-empty list ending with the latest checkpoint');
    expect(failuresOf((c) => { (c as Record<string, unknown>).checkpoint = { ...c.checkpoint, tree_size: -1 }; })[0])
      .toMatch(/^checkpoint \(the latest\): not a checkpoint/);
    for (const size of [Number.NaN, 1.5, '5', 2 ** 53]) {
      expect(failuresOf((c) => { (c.checkpoints[0] as unknown as Record<string, unknown>).tree_size = size; })[0]).toMatch(/^checkpoints\[0\]: not a checkpoint/);
    }
  });
});

describe('verifyBundle: consistency (step 2)', () => {
  it('names a missing and a tampered consistency proof', () => {
    expect(failuresOf((c) => { c.consistency.shift(); })).toContain(`consistency 5 → ${bundle.checkpoint.tree_size}: no proof in the bundle`);
    expect(failuresOf((c) => { c.consistency[0]!.proof[0] = hashToBase64(new Uint8Array(32)); })
      .some((line) => line.startsWith('consistency 5 → ') && line.includes('not a prefix'))).toBe(true);
    expect(failuresOf((c) => { c.consistency[0]!.proof.push(c.consistency[0]!.proof[0]!); })
      .some((line) => line.startsWith('consistency 5 → '))).toBe(true);
  });

  it("does not take a proof's sizes from its loose fields", () => {
    // The entry says it is from 12 where the checkpoint is of 5: no proof for 5 is in the bundle.
    expect(failuresOf((c) => { c.consistency[0]!.from_size = 12; })).toContain(`consistency 5 → ${bundle.checkpoint.tree_size}: no proof in the bundle`);
  });

  it('names a forked history: an earlier checkpoint signed over a different tree', async () => {
    // A log where event 2 was left out: what a rewrite would sign if the key leaked, or a split view.
    const fork = new MemoryMerkleLog();
    await fork.append([0, 1, 3, 4, 5].map((n) => leafHashOf(leafOf(n))));
    const forked = await signCheckpoint({ org_id: TEST_ORG, tree_size: 5, root_hash: hashToBase64(await rootHash(fork, 5)), issued_at: bundle.checkpoints[0]!.issued_at }, built.signer);
    const failures = failuresOf((c) => { c.checkpoints[0] = forked; });
    expect(failures.some((line) => line.startsWith('consistency 5 → ') && line.includes('not a prefix'))).toBe(true);
  });
});

describe('verifyBundle: the events (step 3)', () => {
  const id = bundle.events[1]!.id;
  const has = (failures: string[], text: string) => expect(failures.some((line) => line.startsWith(`event "${id}": `) && line.includes(text)), failures.join('\n')).toBe(true);

  it('names an edited record, and an edited record whose content hash and leaf were rewritten to match', () => {
    has(failuresOf((c) => { ev(c).record = ev(c).record.replace('"success"', '"failure"'); }), 'SHA-256(record) is not leaf.content_hash');
    const rewritten = failuresOf((c) => {
      ev(c).record = ev(c).record.replace('"success"', '"failure"');
      leafIn(c).content_hash = sha256Hex(ev(c).record);
    });
    has(rewritten, 'leaf_hash is not SHA-256(0x00 || encodeLeaf(leaf))');
    const all = failuresOf((c) => {
      ev(c).record = ev(c).record.replace('"success"', '"failure"');
      leafIn(c).content_hash = sha256Hex(ev(c).record);
      ev(c).leaf_hash = hashToBase64(leafHashOf(ev(c).leaf));
    });
    has(all, 'inclusion proof of leaf');
  });

  it("names a record whose event is not the leaf's (lead_id, received_at, id, org_id)", () => {
    for (const key of ['lead_id', 'received_at', 'id', 'org_id'] as const) {
      has(failuresOf((c) => {
        const parsed = JSON.parse(ev(c).record) as { event: Record<string, string> };
        parsed.event[key] = 'x' + parsed.event[key];
        ev(c).record = JSON.stringify(parsed);
        leafIn(c).content_hash = sha256Hex(ev(c).record);
      }), `the record's event.${key}`);
    }
    has(failuresOf((c) => { leafIn(c).lead_id = 'lead_someone_else'; }), "the record's event.lead_id");
    has(failuresOf((c) => { ev(c).record = '{"format":"leadlog-record/0","event":{}}'; }), 'record is not a leadlog-record/1 JSON object');
    has(failuresOf((c) => { ev(c).record = 'not json'; }), 'record is not a leadlog-record/1 JSON object');
  });

  it('names changed raw bytes, raw bytes that appear or vanish, and raw that is not strict base64', () => {
    const withRaw = bundle.events.findIndex((event) => event.raw !== null);
    const without = bundle.events.findIndex((event) => event.raw === null);
    const named = (i: number, failures: string[], text: string) => expect(failures.some((line) => line.startsWith(`event "${bundle.events[i]!.id}": `) && line.includes(text)), failures.join('\n')).toBe(true);
    named(withRaw, failuresOf((c) => { c.events[withRaw]!.raw = b64('{"n":1}'); }), 'SHA-256(raw) is not');
    named(withRaw, failuresOf((c) => { c.events[withRaw]!.raw = null; }), 'raw is null but the record names raw bytes');
    named(without, failuresOf((c) => { c.events[without]!.raw = b64('x'); }), 'raw bytes are given but the record says');
    for (const bad of ['%%%=', 'YWJj\nZA==', 'YW=', 'YQ', 42, {}]) {
      named(withRaw, failuresOf((c) => { (c.events[withRaw] as unknown as Record<string, unknown>).raw = bad; }), 'raw is neither null nor strict base64');
    }
  });

  it('names leaf indexes outside the tree or its first checkpoint, and odd index values', () => {
    const size = bundle.checkpoint.tree_size;
    has(failuresOf((c) => { ev(c).leaf_index = size; }), `leaf_index ${size} is not inside the latest checkpoint`);
    has(failuresOf((c) => { ev(c).leaf_index = size + 1_000_000; }), 'is not inside the latest checkpoint');
    for (const index of [-1, 1.5, Number.NaN, '1', null, 2 ** 60]) {
      has(failuresOf((c) => { (ev(c) as unknown as Record<string, unknown>).leaf_index = index; }), 'is not a non-negative integer');
    }
    // The event claims an earlier first checkpoint than the one that includes it.
    const late = bundle.events.findIndex((event) => event.first_checkpoint_size > bundle.checkpoints[0]!.tree_size);
    const failures = failuresOf((c) => { c.events[late]!.first_checkpoint_size = c.checkpoints[0]!.tree_size; });
    expect(failures.some((line) => line.includes('is not inside its first checkpoint'))).toBe(true);
    has(failuresOf((c) => { ev(c).first_checkpoint_size = 7; }), 'first_checkpoint_size 7 is not the size of a signed checkpoint');
    // A later first checkpoint than the earliest of the bundle that includes the leaf.
    const early = bundle.events.findIndex((event) => event.first_checkpoint_size === bundle.checkpoints[0]!.tree_size);
    const later = failuresOf((c) => { c.events[early]!.first_checkpoint_size = c.checkpoint.tree_size; });
    expect(later).toContain(`event "${bundle.events[early]!.id}": first_checkpoint_size ${bundle.checkpoint.tree_size} is not the earliest checkpoint of the bundle that includes leaf ${bundle.events[early]!.leaf_index}`);
  });

  it('names an inclusion proof with a wrong hash, a hash of the wrong length, a missing or extra step, or a huge list', () => {
    const text = 'inclusion proof of leaf';
    has(failuresOf((c) => { ev(c).inclusion_proof[0] = hashToBase64(new Uint8Array(32).fill(7)); }), text);
    has(failuresOf((c) => { ev(c).inclusion_proof[0] = Buffer.alloc(31).toString('base64'); }), text);
    has(failuresOf((c) => { ev(c).inclusion_proof[0] = Buffer.alloc(33).toString('base64'); }), text);
    has(failuresOf((c) => { ev(c).inclusion_proof.pop(); }), text);
    has(failuresOf((c) => { ev(c).inclusion_proof.push(ev(c).inclusion_proof[0]!); }), text);
    has(failuresOf((c) => { ev(c).inclusion_proof = Array.from({ length: 1_000_000 }, () => ev(c).leaf_hash); }), text);
    has(failuresOf((c) => { ev(c).leaf_hash = 'AAAA'; }), 'leaf_hash is not base64 of 32 bytes');
  });

  it("names another event's leaf proved under this event's id, and the same event listed twice", () => {
    const failures = failuresOf((c) => { c.events[1] = { ...c.events[2]!, id: c.events[1]!.id }; });
    has(failures, 'leaf.id');
    expect(failuresOf((c) => { c.events.push(c.events[0]!); })).toContain(`event "${bundle.events[0]!.id}": listed twice`);
    expect(failuresOf((c) => { c.events.push({ ...c.events[0]!, id: 'copy' }); }).some((line) => line.includes('is also event'))).toBe(true);
    expect(failuresOf((c) => { c.pending.push(c.events[0]!.id); })).toContain(`event "${bundle.events[0]!.id}": both pending and in the log`);
  });

  it('names a received_at after the first checkpoint that includes the event (a forward-dated event)', async () => {
    // Signed honestly, but the event claims to have arrived after the checkpoint that already held it.
    const event = { ...testEvent(1, TEST_LEAD), received_at: '2030-01-01T00:00:00.000Z' };
    const one = await buildOne(event);
    expect(verifyBundle(one.bundle, { trustedKeyPem: one.publicKeyPem }).failures.some((line) => line.includes('is after its first checkpoint was issued'))).toBe(true);
  });

  it('names lone surrogates in a record or a leaf, and a 1 MB record, without throwing', () => {
    has(failuresOf((c) => { ev(c).record = ev(c).record.replace('webform', 'web\ud800form'); }), 'record is not a well-formed string');
    has(failuresOf((c) => { leafIn(c).lead_id = 'lead\udfff'; }), 'leaf is not {id, org_id');
    has(failuresOf((c) => { ev(c).record = 'x'.repeat(1 << 20); }), 'SHA-256(record) is not leaf.content_hash');
  });
});

describe('verifyBundle never throws', () => {
  it('on any JSON at all, and on a correct bundle with any field replaced by anything', () => {
    for (const garbage of [null, 0, 'bundle', [], {}, [bundle], { format: 'leadlog-evidence/1' }, { ...bundle, events: {} }, { ...bundle, checkpoints: 'x' }]) {
      const result = verifyBundle(garbage, pinned);
      expect(result.ok).toBe(false);
      expect(result.failures.length).toBeGreaterThan(0);
    }
    fc.assert(fc.property(fc.anything(), (value) => verifyBundle(value, pinned).ok === false), { numRuns: 300 });
    const paths = pathsOf(bundle);
    fc.assert(fc.property(fc.constantFrom(...paths), fc.oneof(fc.anything(), fc.jsonValue(), fc.string({ unit: 'binary' })), (path, value) => {
      const copy = copyOf(bundle) as unknown as Record<string, unknown>;
      setPath(copy, path, value);
      const result = verifyBundle(copy, pinned);
      return typeof result.ok === 'boolean' && Array.isArray(result.failures);
    }), { numRuns: 400 });
  });

  it('on huge lists: 100,000 garbage events and checkpoints', () => {
    const copy = copyOf(bundle) as unknown as Record<string, unknown>;
    copy.events = Array.from({ length: 100_000 }, (_, i) => ({ id: `e${i}`, leaf_index: i }));
    copy.consistency = Array.from({ length: 100_000 }, (_, i) => ({ from_size: i, to_size: 23, proof: [] }));
    const started = performance.now();
    const result = verifyBundle(copy, pinned);
    expect(result.ok).toBe(false);
    expect(result.checked.events).toBe(100_000);
    expect(performance.now() - started).toBeLessThan(20_000);
  });
});

const tools = mkdtempSync(join(tmpdir(), 'evidence-'));
afterAll(() => rmSync(tools, { recursive: true, force: true }));

describe("what leadlog did not write accepts the bundle", () => {
  it("OpenSSL's command line verifies every checkpoint signature, and refuses a flipped bit", () => {
    const pub = join(tools, 'pub.pem');
    writeFileSync(pub, publicKeyPem);
    for (const [i, checkpoint] of bundle.checkpoints.entries()) {
      writeFileSync(join(tools, `body${i}.txt`), checkpoint.body);
      writeFileSync(join(tools, `sig${i}.der`), Buffer.from(checkpoint.signature, 'base64'));
      const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', join(tools, `sig${i}.der`), join(tools, `body${i}.txt`)], { encoding: 'utf8' });
      expect(out.trim()).toBe('Verified OK');
    }
    writeFileSync(join(tools, 'bad.txt'), bundle.checkpoint.body.replace(TEST_ORG, 'org_evidencf'));
    const bad = spawnSync('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', join(tools, 'sig0.der'), join(tools, 'bad.txt')], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain('Verification failure');
  });

  const goPath = '/usr/share/gocode';
  const haveGo = spawnSync('go', ['version']).status === 0 && existsSync(join(goPath, 'src/golang.org/x/mod/sumdb/tlog'));
  if (!haveGo) console.log('skipping the Go tlog check: `go` or Debian\'s golang-golang-x-mod-dev (/usr/share/gocode) is absent');
  it.skipIf(!haveGo)("Go's golang.org/x/mod/sumdb/tlog encodes the same leaves and accepts every inclusion and consistency proof", async () => {
    const bigger = await buildBundle({ size: 300, leadEvery: 7, checkpointSizes: [1, 2, 64, 100, 129, 256, 300] });
    const dir = fileURLToPath(new URL('../fixtures/merkle/', import.meta.url));
    const run = (input: EvidenceBundle) => spawnSync('go', ['run', 'check-bundle.go'], {
      cwd: dir, input: JSON.stringify(input), encoding: 'utf8',
      env: { ...process.env, GO111MODULE: 'off', GOPATH: goPath, GOPROXY: 'off', GOFLAGS: '', GOCACHE: join(tools, 'gocache') },
    });
    for (const candidate of [bundle, bigger.bundle]) {
      const ok = run(candidate);
      expect(ok.stderr).toBe('');
      expect(ok.stdout.trim()).toBe(`ok inclusion=${candidate.events.length} consistency=${candidate.consistency.length}`);
    }
    expect(bigger.bundle.events.length).toBeGreaterThan(30);
    // And tlog refuses what ours refuses: a flipped proof hash.
    const tampered = copyOf(bundle);
    tampered.events[1]!.inclusion_proof[0] = hashToBase64(new Uint8Array(32));
    const refused = run(tampered);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain('tlog.CheckRecord');
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------------------------

function statementOf(checkpoint: EvidenceBundle['checkpoint']) {
  return { org_id: checkpoint.org_id, tree_size: checkpoint.tree_size, root_hash: checkpoint.root_hash, issued_at: checkpoint.issued_at };
}

function leafOf(n: number) {
  return built.leaves[n] ?? { ...built.leaves[0]!, id: `extra-${n}` };
}

async function copyLog(): Promise<MemoryMerkleLog> {
  const log = new MemoryMerkleLog();
  await log.append(built.leaves.map(leafHashOf));
  return log;
}

/** A one-event bundle of `event`, honestly signed. */
async function buildOne(event: ReturnType<typeof testEvent>) {
  const { signer, publicKeyPem } = p256Signer();
  const { record, contentHash } = recordOf(event, undefined);
  const leaf = { id: event.id, org_id: event.org_id, lead_id: event.lead_id, received_at: event.received_at, content_hash: contentHash };
  const log = new MemoryMerkleLog();
  await log.append([leafHashOf(leaf)]);
  const checkpoint = await signCheckpoint({ org_id: TEST_ORG, tree_size: 1, root_hash: hashToBase64(await rootHash(log, 1)), issued_at: '2026-03-01T12:00:05.000Z' }, signer);
  const bundle: EvidenceBundle = {
    format: 'leadlog-evidence/1', org_id: TEST_ORG, lead_id: TEST_LEAD, generated_at: checkpoint.issued_at, public_key: publicKeyPem,
    key_id: checkpoint.key_id, checkpoint, checkpoints: [checkpoint], consistency: [],
    events: [{ id: event.id, record, raw: null, leaf, leaf_index: 0, leaf_hash: hashToBase64(leafHashOf(leaf)), inclusion_proof: [], first_checkpoint_size: 1 }],
    pending: [],
  };
  return { bundle, publicKeyPem };
}

function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const entries = Array.isArray(value) ? value.map((item, i) => [i, item] as const) : Object.entries(value);
  return [prefix, ...entries.flatMap(([key, item]) => pathsOf(item, [...prefix, key]))].filter((path) => path.length > 0);
}

function setPath(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let at: Record<string | number, unknown> = root;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  at[path.at(-1)!] = value;
}
