import { describe, expect, it } from 'vitest';
import { aggregate, alertDimension, evaluate, MAX_DIMENSION_LENGTH, ruleById, settingsFor } from '../../shared/domain/alerts.js';
import type { LeadEvent } from '../../shared/domain/event.js';
import { controlKeys } from '../../shared/domain/keys.js';
import { sha256Hex } from '../../shared/domain/canonical.js';
import { pseudonymDigest } from '../../shared/domain/masking.js';

const event = (overrides: Partial<LeadEvent>): LeadEvent => ({
  id: '00000000-0000-0000-0000-000000000001', org_id: 'org_a', lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'enhancement.success',
  payload: {}, occurred_at: '2026-11-23T10:00:00.000Z', received_at: '2026-11-23T10:00:01.000Z', expires_at: '2027-02-21T10:00:01.000Z', schema_version: '1',
  ...overrides,
} as LeadEvent);

describe('alert dimensions and counters never throw on one tenant\'s odd data', () => {
  it('keeps an ordinary dimension as it is', () => {
    expect(alertDimension('enrich')).toBe('enrich');
    expect(alertDimension('José 😀')).toBe('José 😀');
  });

  it('turns a lone surrogate, a control character or an over-long value into a well-formed, bounded, distinct dimension', () => {
    const odd = ['\ud800', '\udbff', 'a\u0000b', 'a\u0007b', 's'.repeat(5000), `${'s'.repeat(5000)}t`];
    const safe = odd.map(alertDimension);
    for (const dimension of safe) {
      expect(dimension.isWellFormed()).toBe(true);
      expect(/\p{Cc}/u.test(dimension)).toBe(false);
      expect(dimension.length).toBeLessThanOrEqual(MAX_DIMENSION_LENGTH);
    }
    expect(new Set(safe).size).toBe(odd.length);
  });

  it('builds every alert key for any dimension (UUIDv5 of a lone surrogate threw)', () => {
    expect(() => controlKeys.alertRaised('org_a', 'step_duration', '\ud800', '2026-11-23T10:00:00.000Z')).not.toThrow();
    expect(controlKeys.alertRaised('org_a', 'step_duration', 'enrich', '2026-11-23T10:00:00.000Z').sk)
      .toBe(controlKeys.alertRaised('org_a', 'step_duration', 'enrich', '2026-11-23T10:00:00.000Z').sk);
  });

  it('counts safe dimensions and reasons, and leaves out durations and times no window can hold', () => {
    const deltas = aggregate([
      { event: event({ step_id: '\udc00step', timing: { duration_ms: 3000 } }), sequence: '1' },
      { event: event({ step_id: 'huge', timing: { duration_ms: 1e300 } }), sequence: '2' },
      { event: event({ step_id: 'negative', timing: { duration_ms: -5 } }), sequence: '3' },
      { event: event({ step_id: 'never', occurred_at: 'not a time', timing: { duration_ms: 10 } }), sequence: '4' },
      { event: event({ event_type: 'recipient.failed', outcome: 'failure', entity_id: 'buyer_\ud83d', reason: `${'x'.repeat(199)}😀 and more` }), sequence: '5' },
    ]);
    expect(deltas.map((d) => d.dimension)).toEqual([alertDimension('\udc00step'), alertDimension('buyer_\ud83d')]);
    const reason = deltas[1]!.contributions[0]!.reason!;
    expect(reason.isWellFormed()).toBe(true);
    expect(reason).toBe('x'.repeat(199));
  });

  it('never leaks an e-mail or phone split by the cut of an over-long dimension (red team finding 4): masked first, then bounded', () => {
    const ids = [
      `${'s'.repeat(44)}ana.secret@example.com${'y'.repeat(170)}`,
      `${'s'.repeat(44)}+14155552671${'y'.repeat(180)}`,
      `${'s'.repeat(58)}+55 11 99999-8888${'y'.repeat(170)}`,
    ];
    for (const id of ids) {
      const deltas = aggregate(Array.from({ length: 12 }, (_, i) => ({ event: event({ step_id: id, timing: { duration_ms: 9000 } }), sequence: String(i) })));
      const dimension = deltas.find((d) => d.rule === 'step_duration')!.dimension;
      const rule = ruleById('step_duration');
      const alert = evaluate(rule, settingsFor(rule, undefined), 'org_a', dimension, { numerator: 12 * 9000, denominator: 12, reasons: {} }, Date.parse('2026-11-23T10:30:00Z'))!;
      expect(alert, id).toBeDefined();
      for (const shown of [dimension, alert.dimension]) {
        expect(shown).not.toMatch(/ana\.secret|ana\.secre|na\.secret/);
        expect(shown).not.toMatch(/4155552|1415555|5552671|99999|8888/);
      }
    }
    // Distinct over-long values stay distinct dimensions.
    expect(alertDimension(`${ids[0]}a`)).not.toBe(alertDimension(`${ids[0]}b`));
  });
});

describe('an over-long dimension\'s digest is keyed (red-team finding 2: an unkeyed digest confirms a guess at what the prefix hides)', () => {
  it('is HMAC-SHA256 under the pseudonym key of the exact UTF-16 code units, not a plain SHA-256 anyone can recompute', () => {
    const value = `step_${'x'.repeat(60)}+14155552671${'y'.repeat(200)}`;
    const dimension = alertDimension(value);
    const digest = dimension.slice(dimension.lastIndexOf('~') + 1);
    expect(digest).toBe(pseudonymDigest(Buffer.from(value, 'utf16le')).slice(0, 16));
    expect(digest).not.toBe(sha256Hex(Buffer.from(value, 'utf16le')).slice(0, 16));
    expect(alertDimension(value)).toBe(dimension); // one dimension per value, stable within the deployment
  });
});
