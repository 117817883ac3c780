import { describe, expect, it } from 'vitest';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { validateEventInput } from '../../shared/domain/event.js';
import { reportEvent } from '../bench/reports-bench.js';

/**
 * The reports bench (test/bench/reports-bench.ts) times the reports over events made by reportEvent: its figures mean
 * something only if those are events the API would have stored, and if every report finds rows to aggregate in them.
 */
const FROM = Date.parse('2026-11-01T00:00:00.000Z');
const TO = Date.parse('2026-12-01T00:00:00.000Z');
const events = Array.from({ length: 4_000 }, (_, i) => reportEvent(i));

describe('the reports bench events', () => {
  it('are events the API accepts, all in the benched 30 days', () => {
    for (const event of events) {
      const checked = validateEventInput(event, { now: Date.parse('2026-12-02T00:00:00.000Z'), requireLeadId: true });
      expect(checked.ok ? [] : checked.errors, `${event.event_type} ${JSON.stringify(event).slice(0, 200)}`).toEqual([]);
      const at = Date.parse(event.occurred_at);
      expect(at >= FROM && at < TO).toBe(true);
      expect(Date.parse(event.received_at)).toBeGreaterThan(at);
    }
  });

  it('give every report rows: outcomes with reasons, buyers with prices, costs, purchases, funnels, several sources', () => {
    const types = new Set(events.map((e) => e.event_type));
    for (const type of ['source.submitted', 'source.accepted', 'source.rejected', 'filter.failed', 'recipient.delivered', 'recipient.failed', 'product_viewed', 'product_asked', 'purchase_completed']) {
      expect(types).toContain(type);
    }
    expect(events.filter((e) => e.outcome === 'failure' || e.outcome === 'error').every((e) => typeof e.reason === 'string' && e.reason.length > 0)).toBe(true);
    const deliveries = events.filter((e) => e.event_type.startsWith('recipient.'));
    expect(deliveries.every((e) => e.entity_id && typeof e.payload.price === 'number' && e.payload.price > 0 && (e.timing?.duration_ms ?? -1) >= 0)).toBe(true);
    expect(new Set(deliveries.map((e) => e.entity_id)).size).toBeGreaterThan(20);
    expect(events.filter((e) => e.event_type === 'source.submitted').every((e) => typeof e.payload.cost === 'number')).toBe(true);
    expect(events.filter((e) => e.event_type === 'purchase_completed').every((e) => typeof e.payload.amount === 'number' && /^[A-Z]{3}$/.test(String(e.payload.currency)))).toBe(true);
    expect(new Set(events.map((e) => e.source)).size).toBeGreaterThanOrEqual(8);
    // Leads have several events each, some of them the whole funnel.
    const byLead = new Map<string, Set<string>>();
    for (const e of events) byLead.set(e.lead_id!, (byLead.get(e.lead_id!) ?? new Set()).add(e.event_type));
    expect(byLead.size).toBeLessThan(events.length / 5);
    expect([...byLead.values()].filter((t) => t.has('product_viewed') && t.has('product_asked') && t.has('purchase_completed')).length).toBeGreaterThan(0);
  });

  it('include buyers known by an e-mail address, archived masked (what piiSafeGroup groups by domain)', () => {
    const emailBuyers = events.filter((e) => e.entity_id?.includes('@'));
    expect(emailBuyers.length).toBeGreaterThan(0);
    for (const event of emailBuyers.slice(0, 50)) {
      const row = toArchiveRow(event);
      expect(row.entity_id).not.toBe(event.entity_id);
      expect(String(row.entity_id)).toMatch(/~[0-9a-f]{12}$/);
    }
  });
});
