import { describe, expect, it } from 'vitest';
import { PULL_FIRST_LOOKBACK_MS, PULL_OVERLAP_MS, pullStart } from '../../shared/domain/leadconduit/pull.js';

const NOW = Date.parse('2026-12-06T08:00:00Z');
/** A LeadConduit id (BSON ObjectId) whose first 8 hex digits are the given second. */
const idAt = (ms: number, tail = 'a1b2c3d4e5f60718') => Math.floor(ms / 1000).toString(16).padStart(8, '0') + tail;

describe('pullStart: where a run starts reading', () => {
  it('the overlap window before the kept id\'s time', () => {
    const kept = idAt(NOW - 3_600_000);
    expect(pullStart({ orgId: 'o', afterId: kept }, {}, NOW)).toEqual({ query: { start: new Date(NOW - 3_600_000 - PULL_OVERLAP_MS).toISOString() }, fromMs: NOW - 3_600_000 - PULL_OVERLAP_MS });
  });

  it('a kept id stamped ahead of now (a writer\'s clock running fast) starts the window at now, not past the events written after it (red team #23)', () => {
    const ahead = idAt(NOW + 6 * 3_600_000);
    expect(pullStart({ orgId: 'o', afterId: ahead }, {}, NOW).fromMs).toBe(NOW - PULL_OVERLAP_MS);
  });

  it('an explicit --since or --after-id overrides the kept position; no position reads LeadConduit\'s 90 days', () => {
    const kept = idAt(NOW);
    expect(pullStart({ orgId: 'o', afterId: kept }, { sinceMs: NOW - 5_000 }, NOW).fromMs).toBe(NOW - 5_000);
    expect(pullStart({ orgId: 'o', afterId: kept }, { afterId: kept.toUpperCase() }, NOW).query).toEqual({ after_id: kept });
    expect(pullStart(undefined, {}, NOW).fromMs).toBe(NOW - PULL_FIRST_LOOKBACK_MS);
  });
});
