import { describe, expect, it } from 'vitest';
import { LEAD_ERASED_DETAIL_TYPE } from '../../shared/definitions/event-rules.js';
import { announceErasure, LEAD_ERASED_ENTRY_BYTES, leadErasedEntries } from '../../shared/domain/erasure.js';
import { entrySize, MAX_BUS_ENTRIES, MAX_BUS_REQUEST_BYTES } from '../../shared/domain/fanout.js';
import { maskId } from '../../shared/domain/masking.js';
import type { BusEntry, ErasureJob } from '../../shared/domain/ports.js';

/** `Lead Erased` for a family of any size (section 9; issue #21 point 5): entries EventBridge accepts, in requests it accepts. */
const job = (members: string[]): ErasureJob => ({
  orgId: 'org_a', id: 'er_0123456789abcdef0123456789abcdef', leadId: members[0]!, members, phase: 'announce',
  counts: { leads: members.length, events: 0, raw_blobs: 0, identities: 0, profiles: 0, archive_rows: 0, archive_files: 0, export_files: 0, audit_entries: 0 },
  requestedAt: '2025-01-01T00:00:00.000Z', keyId: 'key', requestId: 'req',
});
/** 765 UTF-8 bytes: 255 three-byte characters, the i-th id of a family. */
const wideId = (i: number) => '€'.repeat(253) + String.fromCharCode(0x4e00 + Math.floor(i / 256), 0x4e00 + (i % 256));
const details = (entries: BusEntry[]) => entries.map((entry) => JSON.parse(entry.Detail) as { leads: string[]; part: number; parts: number; erasure_id: string; lead_id: string });
const time = new Date('2025-01-01T00:00:00Z');

describe('leadErasedEntries', () => {
  it('a small family: one entry {org_id, lead_id, erasure_id, leads} as shipped, ids as pseudonyms', () => {
    const entries = leadErasedEntries(job(['ana@example.com', 'lead_b']), time);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ DetailType: LEAD_ERASED_DETAIL_TYPE, Time: time });
    expect(JSON.parse(entries[0]!.Detail)).toEqual({
      org_id: 'org_a', lead_id: maskId('ana@example.com'), erasure_id: 'er_0123456789abcdef0123456789abcdef',
      leads: [maskId('ana@example.com'), 'lead_b'],
    });
    expect(entries[0]!.Detail).not.toContain('ana@example.com');
  });

  it('10,000 leads of 765-byte ids: every entry under the budget (well under 256 KB), every pseudonym once, in order, parts numbered', () => {
    const members = Array.from({ length: 10_000 }, (_, i) => wideId(i));
    const entries = leadErasedEntries(job(members), time);
    expect(entries.length).toBeGreaterThan(70); // 7.6 MB of ids
    for (const entry of entries) expect(entrySize(entry)).toBeLessThanOrEqual(LEAD_ERASED_ENTRY_BYTES);
    const parsed = details(entries);
    expect(parsed.flatMap((detail) => detail.leads)).toEqual(members.map(maskId));
    expect(parsed.map((detail) => [detail.part, detail.parts])).toEqual(parsed.map((_, i) => [i + 1, entries.length]));
    // A rerun of the phase sends the same parts (subscribers dedupe by erasure_id + part).
    expect(leadErasedEntries(job(members), time)).toEqual(entries);
  });
});

describe('announceErasure', () => {
  const entries = leadErasedEntries(job(Array.from({ length: 3_000 }, (_, i) => wideId(i))), time);

  it('sends every entry in requests of at most 10 entries and under 256 KB', async () => {
    const requests: BusEntry[][] = [];
    await announceErasure({ putEvents: async (batch) => (requests.push(batch), []) }, entries);
    for (const request of requests) {
      expect(request.length).toBeLessThanOrEqual(MAX_BUS_ENTRIES);
      expect(request.reduce((sum, entry) => sum + entrySize(entry), 0)).toBeLessThan(MAX_BUS_REQUEST_BYTES);
    }
    expect(requests.flat()).toEqual(entries);
  });

  it('retries the entries the bus refused, and fails the phase while one is still refused', async () => {
    const sent: number[] = [];
    let refusedOnce = false;
    await announceErasure({
      putEvents: async (batch) => {
        const parts = details(batch).map((detail) => detail.part);
        const refused = !refusedOnce && parts.includes(2) ? [parts.indexOf(2)] : [];
        refusedOnce ||= refused.length > 0;
        sent.push(...parts.filter((_, i) => !refused.includes(i)));
        return refused;
      },
    }, entries);
    expect(sent.sort((a, b) => a - b)).toEqual(entries.map((_, i) => i + 1));
    await expect(announceErasure({ putEvents: async (batch) => batch.map((_, i) => i) }, entries.slice(0, 1))).rejects.toThrow(/refused Lead Erased/);
  });
});
