import { describe, expect, it } from 'vitest';
import type { LeadEvent } from '../../shared/domain/event.js';
import { auditLog, type AuditEvent, type AuditInput, type AuditLeaf } from '../../shared/domain/log-audit.js';
import { leafHashOf, treeHashOf } from '../../shared/domain/merkle.js';
import { hashToBase64, leafRecordOf, recordOf, signCheckpoint, type Checkpoint } from '../../shared/domain/proofs.js';
import { TEST_ORG, p256Signer, rawOf, testEvent } from '../support/evidence-bundle.js';

/**
 * A log of 12 events as the integrator leaves it (leaves in index order, a signed checkpoint over the first 10,
 * issued an hour after the events arrived), and the events as the table holds them; each test tampers with the
 * events or the log the way someone with write access to DynamoDB could, and expects auditLog to name it.
 */
const { signer, publicKeyPem } = p256Signer();
const NOW = Date.parse('2026-03-01T14:00:00.000Z');
const INTERVAL = 300_000;

interface World {
  stored: LeadEvent[];
  leaves: AuditLeaf[];
  checkpoint: Checkpoint;
}

async function world(count = 12, checkpointSize = 10): Promise<World> {
  const stored: LeadEvent[] = [];
  const leaves: AuditLeaf[] = [];
  for (let n = 0; n < count; n++) {
    const event = testEvent(n, `lead_${n % 3}`);
    const leaf = leafRecordOf(event, recordOf(event, rawOf(n)).contentHash);
    stored.push(event);
    leaves.push({ index: n, id: event.id, leaf_hash: hashToBase64(leafHashOf(leaf)), event_expires_at: Math.floor(Date.parse(event.expires_at) / 1000), leaf });
  }
  const root = treeHashOf(leaves.slice(0, checkpointSize).map((leaf) => leafHashOf(leaf.leaf!)));
  const checkpoint = await signCheckpoint({ org_id: TEST_ORG, tree_size: checkpointSize, root_hash: hashToBase64(root), issued_at: '2026-03-01T13:00:00.000Z' }, signer);
  return { stored, leaves, checkpoint };
}

/** What the verify command reads per event: the stored item recomputed, its record_hash as written at ingest. */
function auditEventOf(event: LeadEvent, n: number, options: { recordHash?: string; sealed?: boolean } = {}): AuditEvent {
  const recomputed = recordOf(event, rawOf(n)).contentHash;
  return {
    id: event.id, org_id: event.org_id, lead_id: event.lead_id, received_at: event.received_at, expires_at: event.expires_at,
    record_hash: options.recordHash ?? recomputed, recomputed_content_hash: recomputed, sealed: options.sealed ?? true,
  };
}

function inputOf(w: World, events: AuditEvent[], more: Partial<AuditInput> = {}): AuditInput {
  return { leaves: w.leaves, checkpoint: w.checkpoint, publicKeyPem, erased: new Set(), events, nowMs: NOW, checkpointIntervalMs: INTERVAL, ...more };
}

const honest = (w: World): AuditEvent[] => w.stored.map((event, n) => auditEventOf(event, n));
const clean = { edited: [], removed: [], inserted: [], expired: [], erased: [], pending: [], problems: [] };

describe('auditLog on an untouched org', () => {
  it('finds nothing, and the root under the signature matches', async () => {
    const w = await world();
    expect(auditLog(inputOf(w, honest(w)))).toEqual({ ...clean, root_matches: true });
  });

  it('leaves beyond the checkpoint (integrated, not yet signed) are checked against their events too', async () => {
    const w = await world();
    const events = honest(w);
    events[11] = auditEventOf({ ...w.stored[11]!, outcome: 'failure' }, 11, { recordHash: events[11]!.record_hash });
    expect(auditLog(inputOf(w, events)).edited.map((e) => e.index)).toEqual([11]);
  });
});

describe('auditLog names events edited in the table', () => {
  it('content changed: an event field edited, the record_hash left as ingest wrote it', async () => {
    const w = await world();
    const events = honest(w);
    const edited = { ...w.stored[4]!, payload: { n: 4, name: 'someone else', price: 1 } };
    events[4] = auditEventOf(edited, 4, { recordHash: events[4]!.record_hash });
    const report = auditLog(inputOf(w, events));
    expect(report.edited).toEqual([{ id: w.stored[4]!.id, index: 4, why: 'content changed' }]);
    expect(report.root_matches).toBe(true);
  });

  it('lead_id changed and received_at changed, each named (the leaf fields bind them)', async () => {
    const w = await world();
    const events = honest(w);
    events[2] = auditEventOf({ ...w.stored[2]!, lead_id: 'lead_moved' }, 2);
    events[3] = auditEventOf({ ...w.stored[3]!, received_at: '2026-02-01T00:00:00.000Z' }, 3);
    const report = auditLog(inputOf(w, events));
    expect(report.edited).toEqual([
      { id: w.stored[2]!.id, index: 2, why: 'content changed, lead_id changed' },
      { id: w.stored[3]!.id, index: 3, why: 'content changed, received_at changed' },
    ]);
  });

  it('without the leaf fields, the stored record_hash tells a content edit from the rest', async () => {
    const w = await world();
    const bare = { ...w, leaves: w.leaves.map(({ leaf: _leaf, ...rest }) => rest) };
    const events = honest(w);
    events[4] = auditEventOf({ ...w.stored[4]!, outcome: 'failure' }, 4, { recordHash: events[4]!.record_hash });
    events[5] = auditEventOf({ ...w.stored[5]!, lead_id: 'lead_moved' }, 5); // record_hash rewritten to match
    events[6] = auditEventOf({ ...w.stored[6]!, lead_id: 'lead_moved' }, 6, { recordHash: 'f'.repeat(64) });
    const report = auditLog(inputOf(bare, events));
    expect(report.edited.map(({ index, why }) => [index, why])).toEqual([
      [4, 'content changed (the stored event or its raw bytes no longer hash to the record the leaf commits to)'],
      [5, 'lead_id or received_at changed, or the content changed and its record_hash was rewritten to match'],
      [6, 'content changed, and lead_id, received_at or the stored record_hash too'],
    ]);
  });

  it('raw bytes replaced (the event item untouched) is a content change', async () => {
    const w = await world();
    const events = honest(w);
    const replaced = recordOf(w.stored[3]!, new TextEncoder().encode('{"n":3}')).contentHash;
    events[3] = { ...events[3]!, recomputed_content_hash: replaced };
    expect(auditLog(inputOf(w, events)).edited).toEqual([{ id: w.stored[3]!.id, index: 3, why: 'content changed' }]);
  });

  it('leaf fields that do not hash to the leaf are not believed', async () => {
    const w = await world();
    w.leaves[4] = { ...w.leaves[4]!, leaf: { ...w.leaves[4]!.leaf!, lead_id: 'lead_forged' } };
    const events = honest(w);
    events[4] = auditEventOf({ ...w.stored[4]!, outcome: 'failure' }, 4, { recordHash: events[4]!.record_hash });
    expect(auditLog(inputOf(w, events)).edited[0]!.why).toMatch(/^content changed \(the stored event/);
  });
});

describe('auditLog names events gone from the table', () => {
  it('removed, erased and expired are told apart', async () => {
    const w = await world();
    const events = honest(w).filter((_, n) => ![1, 5, 7].includes(n));
    w.leaves[7] = { ...w.leaves[7]!, event_expires_at: Math.floor(NOW / 1000) - 1 };
    const report = auditLog(inputOf(w, events, { erased: new Set([w.stored[5]!.id]) }));
    expect(report.removed).toEqual([{ id: w.stored[1]!.id, index: 1 }]);
    expect(report.erased).toEqual([{ id: w.stored[5]!.id, index: 5 }]);
    expect(report.expired).toEqual([{ id: w.stored[7]!.id, index: 7 }]);
    expect(report.root_matches).toBe(true);
  });

  it('a leaf without its TTL whose event is gone is removed, and a TTL exactly now has expired', async () => {
    const w = await world();
    w.leaves[1] = { index: 1, id: w.leaves[1]!.id, leaf_hash: w.leaves[1]!.leaf_hash };
    w.leaves[2] = { ...w.leaves[2]!, event_expires_at: NOW / 1000 };
    const report = auditLog(inputOf(w, honest(w).filter((_, n) => n !== 1 && n !== 2)));
    expect(report.removed.map((r) => r.index)).toEqual([1]);
    expect(report.expired.map((r) => r.index)).toEqual([2]);
  });
});

describe('auditLog names events put into the table behind its back', () => {
  const stranger = (receivedAt: string, sealed: boolean): AuditEvent => {
    const event = { ...testEvent(500, 'lead_x'), received_at: receivedAt };
    return auditEventOf(event, 500, { sealed });
  };

  it('an unsealed item is inserted at once, however recent (the stream path never logs it)', async () => {
    const w = await world();
    const report = auditLog(inputOf(w, [...honest(w), stranger(new Date(NOW - 1_000).toISOString(), false)]));
    expect(report.inserted).toEqual([{ id: testEvent(500, 'x').id, received_at: new Date(NOW - 1_000).toISOString(), why: "inserted behind leadlog's back (no valid seal)" }]);
    expect(report.pending).toEqual([]);
  });

  it('a sealed event without a leaf is pending while young or after the checkpoint, else the log lost it', async () => {
    const w = await world();
    const young = stranger(new Date(NOW - 2 * INTERVAL + 1).toISOString(), true); // after the checkpoint, too
    const old = stranger('2026-03-01T12:30:00.000Z', true); // before the checkpoint's issued_at, an hour and a half ago
    const report = auditLog(inputOf(w, [...honest(w), young]));
    expect(report.pending).toEqual([{ id: young.id, received_at: young.received_at }]);
    const lost = auditLog(inputOf(w, [...honest(w), old]));
    expect(lost.inserted).toEqual([{ id: old.id, received_at: old.received_at, why: 'sealed by leadlog but not in the log two checkpoint intervals on (the integrator lost it)' }]);
    // Received after the latest checkpoint was issued, but long ago: the next checkpoint is overdue, still pending.
    const afterCheckpoint = stranger('2026-03-01T13:10:00.000Z', true);
    expect(auditLog(inputOf(w, [...honest(w), afterCheckpoint])).pending).toHaveLength(1);
    // No checkpoint yet: nothing is covered, a sealed event is pending.
    const none = auditLog(inputOf(w, [...honest(w), old], { checkpoint: undefined }));
    expect(none.pending).toHaveLength(1);
    expect(none.problems).toEqual(['no checkpoint yet: the leaves cannot be checked against a signed root']);
    expect(none.root_matches).toBe(false);
  });

  it('an unparseable received_at never hides a sealed event as pending', async () => {
    const w = await world();
    expect(auditLog(inputOf(w, [...honest(w), stranger('yesterday', true)])).inserted).toHaveLength(1);
  });
});

describe('auditLog names a rewritten log', () => {
  it('a leaf hash changed under the checkpoint (to match an edited event)', async () => {
    const w = await world();
    const events = honest(w);
    const edited = { ...w.stored[4]!, outcome: 'failure' as const };
    events[4] = auditEventOf(edited, 4);
    w.leaves[4] = { index: 4, id: edited.id, leaf_hash: hashToBase64(leafHashOf(leafRecordOf(edited, events[4]!.recomputed_content_hash))) };
    const report = auditLog(inputOf(w, events));
    expect(report.root_matches).toBe(false);
    expect(report.problems).toEqual(['checkpoint 10: the stored leaves do not hash to its signed root (the log itself was rewritten)']);
    expect(report.edited).toEqual([]); // the event matches the forged leaf: only the root tells
  });

  it('a leaf deleted from the log, two leaves swapped, a leaf hash that is not a hash, a duplicated leaf', async () => {
    const w = await world();
    const gap = auditLog(inputOf({ ...w, leaves: w.leaves.filter((l) => l.index !== 3) }, honest(w)));
    expect(gap.root_matches).toBe(false);
    expect(gap.problems[0]).toBe('leaf 3: the log holds index 4 there (a leaf is missing or out of order)');
    const swapped = [...w.leaves];
    [swapped[1], swapped[2]] = [{ ...swapped[2]!, index: 1 }, { ...swapped[1]!, index: 2 }];
    expect(auditLog(inputOf({ ...w, leaves: swapped }, honest(w))).problems).toContain('checkpoint 10: the stored leaves do not hash to its signed root (the log itself was rewritten)');
    const bad = [...w.leaves];
    bad[0] = { ...bad[0]!, leaf_hash: 'AAAA' };
    expect(auditLog(inputOf({ ...w, leaves: bad }, honest(w))).problems[0]).toMatch(/^leaf 0 \(.*\): its hash is not base64 of 32 bytes$/);
    const twice = [...w.leaves, { ...w.leaves[0]!, index: 12 }];
    expect(auditLog(inputOf({ ...w, leaves: twice }, honest(w))).problems).toContain(`event ${w.stored[0]!.id} has two leaves (0 and 12)`);
  });

  it('fewer leaves than the checkpoint signed, a checkpoint re-signed by another key, a checkpoint edited', async () => {
    const w = await world();
    expect(auditLog(inputOf({ ...w, leaves: w.leaves.slice(0, 9) }, honest(w))).problems)
      .toEqual(['checkpoint 10: the log holds only 9 leaves (leaves were removed from the log itself)']);
    const other = p256Signer();
    const forged = await signCheckpoint({ org_id: TEST_ORG, tree_size: 10, root_hash: w.checkpoint.root_hash, issued_at: w.checkpoint.issued_at }, other.signer);
    expect(auditLog(inputOf({ ...w, checkpoint: forged }, honest(w))).problems)
      .toEqual(['checkpoint 10: its body or signature does not verify under the public key']);
    expect(auditLog(inputOf({ ...w, checkpoint: { ...w.checkpoint, tree_size: 9 } }, honest(w))).root_matches).toBe(false);
  });

  it('an event with a lone surrogate in a field (no leaf leadlog wrote can be it) is edited, not a crash', async () => {
    const w = await world();
    const events = honest(w);
    events[2] = { ...events[2]!, lead_id: 'lead\ud800' };
    expect(auditLog(inputOf(w, events)).edited.map((e) => e.index)).toEqual([2]);
  });
});
