import { describe, expect, it } from 'vitest';
import { leadDomainPayloads, leadDomainTypes, leadProcessingTypes } from '../../shared/domain/catalogue.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { parseJsonLossless } from '../../shared/domain/json.js';
import { domainSamples, processingSamples } from '../support/samples.js';

const now = Date.parse('2026-11-23T14:30:00.000Z');
const base = { lead_id: 'lead_1', source_type: 'direct', source: 'web', occurred_at: '2026-11-23T14:00:00.000Z' };

describe('the catalogue', () => {
  it.each(leadDomainTypes)('accepts %s with its fields and names each missing one', (type) => {
    const ok = validateEventInput({ ...base, event_type: type, payload: domainSamples[type] }, { now });
    expect(ok.ok).toBe(true);
    const missing = validateEventInput({ ...base, event_type: type, payload: {} }, { now });
    expect(missing.ok).toBe(false);
    const paths = missing.ok ? [] : missing.errors.map((e) => e.path).sort();
    expect(paths).toEqual(Object.keys(leadDomainPayloads[type]).map((k) => `payload.${k}`).sort());
  });

  it.each(leadProcessingTypes)('accepts %s with outcome, reason, timing and snapshot', (type) => {
    const result = validateEventInput({ ...base, event_type: type, ...processingSamples[type] }, { now });
    expect(result.ok).toBe(true);
  });

  it('rejects a failure outcome without a reason, and wrong field types in one answer', () => {
    const result = validateEventInput(
      { ...base, event_type: 'source.rejected', outcome: 'failure', timing: { duration_ms: 'slow' }, payload: { http_status: 99 } },
      { now },
    );
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors.map((e) => e.path).sort()).toEqual(['payload.http_status', 'reason', 'timing.duration_ms']);
  });

  it('derives the outcome of a processing event from its type when none is given', () => {
    const rejected = validateEventInput({ ...base, event_type: 'source.rejected' }, { now });
    expect(rejected.ok).toBe(true);
    if (rejected.ok) expect(buildEvent(rejected.value, { orgId: 'o', now }).event.outcome).toBe('failure');
    const error = validateEventInput({ ...base, event_type: 'recipient.error' }, { now });
    if (error.ok) expect(buildEvent(error.value, { orgId: 'o', now }).event.outcome).toBe('error');
  });

  it('accepts custom.<name> with any object payload, and rejects other unknown types and webhook-only types', () => {
    expect(validateEventInput({ ...base, event_type: 'custom.quiz.finished', payload: { any: { thing: [1] } } }, { now }).ok).toBe(true);
    for (const type of ['purchase', 'custom.', 'custom.UPPER', 'webhook.unmapped', 'source.unknown']) {
      const result = validateEventInput({ ...base, event_type: type }, { now });
      expect(result.ok, type).toBe(false);
      if (!result.ok) expect(result.errors.some((e) => e.path === 'event_type')).toBe(true);
    }
  });

  it('lists every bad envelope field at once', () => {
    const result = validateEventInput(
      { source_type: 'email', source: 'Web Form', event_type: 'product_viewed', occurred_at: 'yesterday', payload: [], color: 'red' },
      { now },
    );
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => e.path).sort()).toEqual(['color', 'lead_id', 'occurred_at', 'payload', 'source', 'source_type']);
    }
  });

  it('refuses occurred_at more than 5 minutes ahead, and calendar-invalid dates', () => {
    const ahead = validateEventInput({ ...base, event_type: 'product_viewed', payload: domainSamples.product_viewed, occurred_at: '2026-11-23T14:36:00Z' }, { now });
    expect(ahead.ok).toBe(false);
    const skew = validateEventInput({ ...base, event_type: 'product_viewed', payload: domainSamples.product_viewed, occurred_at: '2026-11-23T14:34:00Z' }, { now });
    expect(skew.ok).toBe(true);
    for (const bad of ['2026-02-30T00:00:00Z', '2026-11-23T14:00:00', '0000-01-01T00:00:00Z', '2026-11-23T25:00:00Z']) {
      expect(validateEventInput({ ...base, event_type: 'product_viewed', payload: domainSamples.product_viewed, occurred_at: bad }, { now }).ok, bad).toBe(false);
    }
  });

  it('names the real reason: a date before 1970 is out of range, and a number no double holds is out of range (not "received object")', () => {
    const old = validateEventInput({ ...base, event_type: 'product_viewed', payload: domainSamples.product_viewed, occurred_at: '1900-01-01T00:00:00Z' }, { now });
    expect(old.ok ? [] : old.errors).toEqual([{ path: 'occurred_at', message: expect.stringContaining('from 1970-01-01T00:00:00Z') }]);
    const huge = validateEventInput(parseJsonLossless(JSON.stringify({ ...base, event_type: 'purchase_completed', payload: domainSamples.purchase_completed }).replace(/"amount":[^,}]+/, '"amount":1e999999')), { now });
    expect(huge.ok ? [] : huge.errors).toEqual([{ path: 'payload.amount', message: expect.stringContaining('number out of range') }]);
  });

  it('normalizes occurred_at to UTC milliseconds and currency to upper case, keeping unknown payload keys', () => {
    const result = validateEventInput(
      { ...base, event_type: 'purchase_completed', occurred_at: '2026-11-23T11:30:45.5-03:00', payload: { ...domainSamples.purchase_completed, currency: 'brl', coupon: 'BF' } },
      { now },
    );
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value.occurred_at).toBe('2026-11-23T14:30:45.500Z');
      expect(result.value.payload).toMatchObject({ currency: 'BRL', coupon: 'BF' });
    }
  });
});

describe('event identity', () => {
  it('derives the same id for the same org, source and external id, and a fresh one without', () => {
    const input = validateEventInput({ ...base, event_type: 'custom.x', external_event_id: 'evt_1' }, { now });
    if (!input.ok) throw new Error('invalid');
    const a = buildEvent(input.value, { orgId: 'org_a', now });
    const b = buildEvent(input.value, { orgId: 'org_a', now: now + 1000 });
    const other = buildEvent(input.value, { orgId: 'org_b', now });
    expect(a.event.id).toBe(b.event.id);
    expect(a.contentHash).toBe(b.contentHash);
    expect(other.event.id).not.toBe(a.event.id);
    const anon = validateEventInput({ ...base, event_type: 'custom.x' }, { now });
    if (!anon.ok) throw new Error('invalid');
    expect(buildEvent(anon.value, { orgId: 'org_a', now }).event.id).not.toBe(buildEvent(anon.value, { orgId: 'org_a', now }).event.id);
    expect(buildEvent(anon.value, { orgId: 'org_a', now, idempotencyKey: 'k1' }).event.id).toBe(
      buildEvent(anon.value, { orgId: 'org_a', now, idempotencyKey: 'k1' }).event.id,
    );
  });

  it('stamps received_at, expires_at 90 days later and schema_version', () => {
    const input = validateEventInput({ ...base, event_type: 'custom.x' }, { now });
    if (!input.ok) throw new Error('invalid');
    const { event } = buildEvent(input.value, { orgId: 'org_a', now });
    expect(event.received_at).toBe('2026-11-23T14:30:00.000Z');
    expect(event.expires_at).toBe('2027-02-21T14:30:00.000Z');
    expect(event.schema_version).toBe('1');
  });
});

describe('the generated catalogue reference', () => {
  it('docs/event-types.md matches the definitions (run npm run docs:catalogue)', async () => {
    const { readFileSync } = await import('node:fs');
    const { catalogueMarkdown } = await import('../../shared/domain/catalogue-doc.js');
    expect(readFileSync('docs/event-types.md', 'utf8')).toBe(catalogueMarkdown());
  });
});
