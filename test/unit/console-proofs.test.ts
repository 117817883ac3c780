import { generateKeyPairSync, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkpointVerifies, derToRawSignature, encodeLeaf as browserEncodeLeaf, importPublicKey, leafHashOf as browserLeafHashOf,
  rootFromInclusionProof as browserRoot, verifyEventProof, verifyInclusion as browserVerifyInclusion, type EventProof,
} from '../../console/src/proofs.js';
import {
  encodeLeaf, inclusionProof, leafHashOf, MemoryMerkleLog, rootFromInclusionProof, rootHash, verifyInclusion, type LeafRecord,
} from '../../shared/domain/merkle.js';
import { checkpointBody, signCheckpoint, type Checkpoint, type CheckpointSigner } from '../../shared/domain/proofs.js';

/**
 * The console's browser-side verification (console/src/proofs.ts, WebCrypto only) against what the server side makes:
 * proofs from shared/domain/merkle.ts, checkpoints signed by shared/domain/proofs.ts with node:crypto keys.
 */
const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const signer: CheckpointSigner = {
  keyId: async () => 'local:test',
  sign: async (message) => new Uint8Array(nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' })),
  publicKeyPem: async () => pem,
};

const ORG = 'org_proofs';
const leafOf = (i: number): LeafRecord => ({
  id: `00000000-0000-5000-8000-${String(i).padStart(12, '0')}`, org_id: ORG, lead_id: `lead_${i % 3}`,
  received_at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), content_hash: String(i).padStart(64, 'a'),
});

async function logOf(size: number): Promise<{ log: MemoryMerkleLog; leaves: LeafRecord[] }> {
  const leaves = Array.from({ length: size }, (_, i) => leafOf(i));
  const log = new MemoryMerkleLog();
  await log.append(leaves.map(leafHashOf));
  return { log, leaves };
}

async function proofOf(log: MemoryMerkleLog, leaves: LeafRecord[], index: number, size = log.size): Promise<EventProof> {
  const checkpoint = await signCheckpoint({ org_id: ORG, tree_size: size, root_hash: b64(await rootHash(log, size)), issued_at: '2026-01-01T00:10:00.000Z' }, signer);
  return {
    event_id: leaves[index]!.id, leaf_index: index, leaf_hash: b64(leafHashOf(leaves[index]!)), leaf: leaves[index]!,
    inclusion_proof: (await inclusionProof(log, index, size)).map(b64), checkpoint, erased: false,
  };
}
const shownOf = (leaf: LeafRecord) => ({ id: leaf.id, org_id: leaf.org_id, lead_id: leaf.lead_id, received_at: leaf.received_at });

/** A DER integer's value bytes as written (with a leading 0x00 when its top bit is set). */
function derIntegers(der: Uint8Array): [Uint8Array, Uint8Array] {
  const r = der.subarray(4, 4 + der[3]!);
  const sAt = 4 + der[3]!;
  return [r, der.subarray(sAt + 2, sAt + 2 + der[sAt + 1]!)];
}

describe('the console verifies proofs in the browser as the server makes them', () => {
  it('hashes leaves exactly as shared/domain/merkle.ts does, refusing lone surrogates', async () => {
    const odd: LeafRecord = { ...leafOf(1), lead_id: 'ünïcødé 😀 lead', received_at: '' };
    for (const leaf of [leafOf(0), odd, { ...odd, id: 'x'.repeat(100_000) }]) {
      expect(browserEncodeLeaf(leaf)).toEqual(encodeLeaf(leaf));
      expect(b64(await browserLeafHashOf(leaf))).toBe(b64(leafHashOf(leaf)));
    }
    for (const bad of ['\uD800', 'a\uDC00b', '\uDC00\uD800']) {
      expect(() => browserEncodeLeaf({ ...leafOf(0), lead_id: bad })).toThrow(RangeError);
      expect(() => encodeLeaf({ ...leafOf(0), lead_id: bad })).toThrow(RangeError);
    }
    expect(() => browserEncodeLeaf({ ...leafOf(0), org_id: 7 as unknown as string })).toThrow(RangeError);
  });

  it('computes the same root from every inclusion proof of trees of 1 to 70 leaves, and refuses a wrong index, size or path', async () => {
    const { log, leaves } = await logOf(70);
    for (let size = 1; size <= 70; size++) {
      const root = await rootHash(log, size);
      for (let index = 0; index < size; index++) {
        const leaf = leafHashOf(leaves[index]!);
        const proof = await inclusionProof(log, index, size);
        const ours = await browserRoot(leaf, index, size, proof);
        expect(ours && b64(ours), `${index}/${size}`).toBe(b64(rootFromInclusionProof(leaf, index, size, proof)!));
        expect(await browserVerifyInclusion(leaf, index, size, proof, root)).toBe(true);
        if (size > 1) {
          expect(await browserVerifyInclusion(leaf, (index + 1) % size, size, proof, root), `index moved ${index}/${size}`).toBe(false);
          expect(await browserVerifyInclusion(leaf, index, size, proof.slice(1), root)).toBe(false);
          expect(await browserVerifyInclusion(leaf, index, size, [...proof, proof[0]!], root)).toBe(false);
        }
        // Another size: as the RFC's algorithm decides it (a left subtree's proof holds for some larger sizes too).
        if (size < 70) expect(await browserVerifyInclusion(leaf, index, size + 1, proof, root)).toBe(verifyInclusion(leaf, index, size + 1, proof, root));
      }
    }
    const leaf = leafHashOf(leaves[0]!);
    expect(await browserRoot(leaf, 5, 5, [])).toBeUndefined();
    expect(await browserRoot(leaf, -1, 5, [])).toBeUndefined();
    expect(await browserRoot(leaf, 0.5, 5, [])).toBeUndefined();
    expect(await browserRoot(leaf.subarray(1), 0, 1, [])).toBeUndefined();
    expect(await browserRoot(leaf, 0, 1, [])).toEqual(leaf);
  });

  it('turns DER signatures into r||s, including 33-byte integers (a leading zero) and short ones, and refuses what is not strict DER', async () => {
    const key = await importPublicKey(pem);
    const message = new TextEncoder().encode(checkpointBody({ org_id: ORG, tree_size: 1, root_hash: 'A'.repeat(43) + '=', issued_at: '2026-01-01T00:00:00.000Z' }));
    const found = { padded: 0, short: 0 };
    for (let i = 0; i < 20_000 && (found.padded < 3 || found.short < 2); i++) {
      const der = new Uint8Array(nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' }));
      const [r, s] = derIntegers(der);
      const padded = r.length === 33 || s.length === 33;
      const short = r.length < 32 || s.length < 32;
      if (!padded && !short) continue;
      if (padded) found.padded += 1;
      if (short) found.short += 1;
      const raw = derToRawSignature(der)!;
      expect(raw).toHaveLength(64);
      // node:crypto reads it as IEEE P1363 (r and s, each 32 bytes), the form WebCrypto verifies too.
      expect(nodeVerify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).toBe(true);
      expect(await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, raw, message)).toBe(true);
    }
    expect(found.padded).toBeGreaterThanOrEqual(3);
    expect(found.short).toBeGreaterThanOrEqual(2);

    const der = new Uint8Array(nodeSign('sha256', message, { key: privateKey, dsaEncoding: 'der' }));
    const bad = (edit: (d: number[]) => number[]) => derToRawSignature(Uint8Array.from(edit([...der])));
    expect(bad((d) => d)).toBeDefined();
    expect(bad((d) => [...d, 0])).toBeUndefined(); // trailing byte
    expect(bad((d) => d.slice(0, -1))).toBeUndefined(); // truncated
    expect(bad((d) => [0x31, ...d.slice(1)])).toBeUndefined(); // not a SEQUENCE
    expect(bad((d) => [d[0]!, 0x81, d[1]!, ...d.slice(2)])).toBeUndefined(); // long-form length
    // Hand-made sequences around a valid s: r positive with its top bit clear, then variants of it.
    const [, s] = derIntegers(der);
    const seq = (ints: number[][]) => Uint8Array.from([0x30, ints.reduce((n, x) => n + 2 + x.length, 0), ...ints.flatMap((x) => [0x02, x.length, ...x])]);
    const low = [0x11, ...Array.from({ length: 31 }, (_, i) => i)];
    const high = [0x91, ...low.slice(1)];
    expect(derToRawSignature(seq([low, [...s]]))?.subarray(0, 32)).toEqual(Uint8Array.from(low));
    expect(derToRawSignature(seq([[0, ...high], [...s]]))?.subarray(0, 32)).toEqual(Uint8Array.from(high)); // 33 bytes, leading zero
    expect(derToRawSignature(seq([[5], [...s]]))?.subarray(0, 32)).toEqual(Uint8Array.from([...new Array(31).fill(0), 5])); // short: left-padded
    expect(derToRawSignature(seq([[0, ...low], [...s]]))).toBeUndefined(); // a needless leading zero (not DER)
    expect(derToRawSignature(seq([high, [...s]]))).toBeUndefined(); // negative
    expect(derToRawSignature(seq([[], [...s]]))).toBeUndefined(); // empty
    expect(derToRawSignature(seq([[0], [...s]]))).toBeUndefined(); // zero
    expect(derToRawSignature(seq([[1, ...low], [...s]]))).toBeUndefined(); // 33 bytes of value: too long for P-256
    expect(derToRawSignature(seq([low]))).toBeUndefined(); // s missing
    expect(derToRawSignature(seq([low, [...s], [1]]))).toBeUndefined(); // a third integer
    expect(derToRawSignature(new Uint8Array(0))).toBeUndefined();
  });

  it('verifies checkpoints signed by node:crypto, and refuses an edited field, body or signature, or another key', async () => {
    const key = await importPublicKey(pem);
    const { log } = await logOf(9);
    const checkpoint = await signCheckpoint({ org_id: ORG, tree_size: 9, root_hash: b64(await rootHash(log, 9)), issued_at: '2026-01-01T00:10:00.000Z' }, signer);
    expect(await checkpointVerifies(checkpoint, key)).toBe(true);
    const edits: Partial<Checkpoint>[] = [
      { tree_size: 10 }, { org_id: 'org_other' }, { issued_at: '2026-01-01T00:10:00.001Z' }, { root_hash: b64(await rootHash(log, 8)) },
      { body: checkpoint.body.replace('\n9\n', '\n10\n'), tree_size: 10 }, // fields and body agree, the signature does not
      { body: `${checkpoint.body}\n` }, { body: checkpoint.body.replace('issued_at', 'issued_at ') },
      { signature: '' }, { signature: 'not base64!' }, { signature: b64(new Uint8Array(64)) },
      { tree_size: 9.5 }, { tree_size: -1 },
    ];
    for (const edit of edits) expect(await checkpointVerifies({ ...checkpoint, ...edit }, key), JSON.stringify(edit)).toBe(false);
    const sig = Buffer.from(checkpoint.signature, 'base64');
    sig[sig.length - 1]! ^= 1;
    expect(await checkpointVerifies({ ...checkpoint, signature: sig.toString('base64') }, key)).toBe(false);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(await checkpointVerifies(checkpoint, await importPublicKey(other))).toBe(false);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await expect(importPublicKey(rsa)).rejects.toThrow();
    await expect(importPublicKey('-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----')).rejects.toThrow();
    await expect(importPublicKey('')).rejects.toThrow();
  });

  it("verifies an event's proof end to end, names the check a tampered proof fails, and accepts an erased event's leaf hash", async () => {
    const key = await importPublicKey(pem);
    const { log, leaves } = await logOf(13);
    for (const index of [0, 6, 12]) {
      const proof = await proofOf(log, leaves, index);
      expect(await verifyEventProof(proof, shownOf(leaves[index]!), key)).toEqual({ ok: true, erased: false, leafChecked: true });
      // An older checkpoint proves it too.
      expect(await verifyEventProof(await proofOf(log, leaves, index, index + 1), shownOf(leaves[index]!), key)).toEqual({ ok: true, erased: false, leafChecked: true });
    }
    const proof = await proofOf(log, leaves, 6);
    const shown = shownOf(leaves[6]!);
    const flip = (text: string) => {
      const bytes = Buffer.from(text, 'base64');
      bytes[0]! ^= 1;
      return bytes.toString('base64');
    };
    const cases: [string, EventProof, RegExp][] = [
      ['another event', { ...proof, event_id: leaves[5]!.id }, /another event/],
      ['a path hash flipped', { ...proof, inclusion_proof: [flip(proof.inclusion_proof[0]!), ...proof.inclusion_proof.slice(1)] }, /inclusion proof/],
      ['a path hash dropped', { ...proof, inclusion_proof: proof.inclusion_proof.slice(1) }, /inclusion proof/],
      ['a path hash not base64', { ...proof, inclusion_proof: ['x', ...proof.inclusion_proof.slice(1)] }, /not 32 bytes/],
      ['the path not a list', { ...proof, inclusion_proof: 'abc' as unknown as string[] }, /not a list/],
      ['leaf index moved', { ...proof, leaf_index: 7 }, /inclusion proof/],
      ['leaf hash flipped', { ...proof, leaf_hash: flip(proof.leaf_hash) }, /hash to leaf_hash/],
      ['content hash edited', { ...proof, leaf: { ...proof.leaf!, content_hash: 'b'.repeat(64) } }, /hash to leaf_hash/],
      ['leaf of another lead', { ...proof, leaf: { ...proof.leaf!, lead_id: 'lead_x' } }, /name this event/],
      ['leaf with a lone surrogate', { ...proof, leaf: { ...proof.leaf!, content_hash: '\uD800' } }, /cannot be encoded/],
      ['root edited', { ...proof, checkpoint: { ...proof.checkpoint, root_hash: flip(proof.checkpoint.root_hash) } }, /signed text/],
      ['root and body edited', { ...proof, checkpoint: { ...proof.checkpoint, root_hash: flip(proof.checkpoint.root_hash), body: checkpointBody({ ...proof.checkpoint, root_hash: flip(proof.checkpoint.root_hash) }) } }, /signature/],
      ['another org', { ...proof, checkpoint: await signCheckpoint({ ...proof.checkpoint, org_id: 'org_other' }, signer) }, /another org/],
      ['no leaf field', { ...proof, leaf: undefined as unknown as null }, /no leaf field/],
      ['no checkpoint', { ...proof, checkpoint: null as unknown as Checkpoint }, /signed text/],
    ];
    for (const [name, tampered, reason] of cases) {
      const verdict = await verifyEventProof(tampered, shown, key);
      expect(verdict.ok, name).toBe(false);
      expect(!verdict.ok && verdict.reason, name).toMatch(reason);
    }
    expect((await verifyEventProof(proof, { ...shown, received_at: '2027-01-01T00:00:00.000Z' }, key)).ok).toBe(false);
    expect((await verifyEventProof(null as unknown as EventProof, shown, key)).ok).toBe(false);

    const erased: EventProof = { ...proof, leaf: null, erased: true, erased_at: '2026-02-01T00:00:00.000Z' };
    expect(await verifyEventProof(erased, shown, key)).toEqual({ ok: true, erased: true, leafChecked: false });
    // A key without pii:read gets no leaf (it names the lead unmasked): the leaf hash's inclusion is still checked.
    const hidden: EventProof = { ...proof, leaf: null };
    expect(await verifyEventProof(hidden, shown, key)).toEqual({ ok: true, erased: false, leafChecked: false });
    expect((await verifyEventProof({ ...hidden, inclusion_proof: [flip(hidden.inclusion_proof[0]!), ...hidden.inclusion_proof.slice(1)] }, shown, key)).ok).toBe(false);
    expect((await verifyEventProof({ ...erased, leaf_hash: flip(erased.leaf_hash) }, shown, key)).ok).toBe(false);
  });
});

