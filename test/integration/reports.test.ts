import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalReportEngine } from '../../infra/local/local-report-engine.js';
import { localStandIns } from '../../shared/adapters/local-stand-ins.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { buildEvent, validateEventInput, type EventInput, type LeadEvent } from '../../shared/domain/event.js';
import type { ReportQuery } from '../../shared/domain/ports.js';
import { startTestApi, type TestApi } from '../support/api.js';

/**
 * Reports (section 13) through the API over a local archive seeded with duplicates: every report's numbers against
 * values computed here from the seeded events (each once, by id), with filters and groupings, trends per hour and
 * day, the 202 path and its run, another org's rows never counted, no e-mail or phone as a group.
 */

/** The real DuckDB engine; `hold` keeps a finished run's answer back (fault injection: the numbers are DuckDB's). */
class HeldEngine extends LocalReportEngine {
  hold = false;
  private release: (() => void) | undefined;
  private gate = Promise.resolve();
  closeGate() {
    this.gate = new Promise((resolve) => (this.release = resolve));
    this.hold = true;
  }
  openGate() {
    this.hold = false;
    this.release?.();
  }
  protected override async execute(query: ReportQuery): Promise<Record<string, unknown>[]> {
    const rows = await super.execute(query);
    await this.gate;
    return rows;
  }
}

const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-reports-'));
const engine = new HeldEngine(archiveDir);
let api: TestApi;
let orgId: string;
let key: string;
const DAY0 = Date.parse('2026-03-02T00:00:00.000Z');
const FROM = '2026-03-02T00:00:00.000Z';
const TO = '2026-03-05T00:00:00.000Z';
const seeded: LeadEvent[] = [];

function random(seed: number) {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}
const rand = random(7);
const pick = <T>(values: readonly T[]) => values[Math.floor(rand() * values.length)]!;

function event(org: string, input: Record<string, unknown>, at: number): LeadEvent {
  const checked = validateEventInput({ source_type: 'internal', occurred_at: new Date(at).toISOString(), payload: {}, ...input }, { now: at + 60_000, requireLeadId: true });
  if (!checked.ok) throw new Error(JSON.stringify(checked));
  return buildEvent((checked as { ok: true; value: EventInput }).value, { orgId: org, now: at + 1000 }).event;
}

const sources = ['web_a', 'partner_b'] as const;
const buyers = ['buyer_1', 'ana@buyers.example', '+14155550123'] as const;
const reasons = ['Invalid phone', 'Duplicate', 'sam@spam.example'] as const;

beforeAll(async () => {
  localStandIns.reports = engine;
  api = await startTestApi();
  ({ orgId, key } = await api.newOrg());
  const other = await api.newOrg();
  let n = 0;
  const at = () => DAY0 + Math.floor(rand() * 3 * 24) * 3_600_000 + Math.floor(rand() * 3_600_000);
  for (let i = 0; i < 120; i++) {
    const lead = `lead_${i}`;
    const source = pick(sources);
    const flow = i % 2 ? 'flow_x' : 'flow_y';
    const base = { lead_id: lead, source, flow_id: flow };
    seeded.push(event(orgId, { ...base, event_type: 'source.submitted', outcome: 'success', step_id: 'intake', external_event_id: `e${n++}`, timing: { duration_ms: Math.round(rand() * 100) + 0.25 }, payload: { cost: 0.1 } }, at()));
    if (rand() < 0.3) {
      seeded.push(event(orgId, { ...base, event_type: 'source.rejected', outcome: 'failure', reason: pick(reasons), external_event_id: `e${n++}` }, at()));
      continue;
    }
    seeded.push(event(orgId, { ...base, event_type: 'source.accepted', outcome: 'success', external_event_id: `e${n++}` }, at()));
    const buyer = pick(buyers);
    if (rand() < 0.7) seeded.push(event(orgId, { ...base, entity_id: buyer, event_type: 'recipient.delivered', outcome: 'success', external_event_id: `e${n++}`, timing: { duration_ms: Math.round(rand() * 900) }, payload: { price: 10.1 + Math.round(rand() * 40) } }, at()));
    else seeded.push(event(orgId, { ...base, entity_id: buyer, event_type: 'recipient.failed', outcome: 'error', reason: pick(reasons), external_event_id: `e${n++}`, timing: { duration_ms: Math.round(rand() * 900) } }, at()));
  }
  for (let i = 0; i < 60; i++) {
    const lead = `shopper_${i}`;
    const base = { lead_id: lead, source_type: 'direct' };
    if (rand() < 0.8) seeded.push(event(orgId, { ...base, source: 'web', event_type: 'product_viewed', external_event_id: `v${i}`, payload: { product_id: 'p1', product_name: 'C', category: 'edu' } }, at()));
    if (rand() < 0.6) seeded.push(event(orgId, { ...base, source: 'whatsapp', event_type: 'product_asked', external_event_id: `a${i}`, payload: { product_id: 'p1', question: 'q', channel: 'whatsapp' } }, at()));
    if (rand() < 0.5) {
      const source = pick(['stripe', 'hotmart'] as const);
      seeded.push(event(orgId, { ...base, source, event_type: 'purchase_completed', external_event_id: `p${i}`, payload: { product_id: 'p1', product_name: 'C', category: 'edu', amount: 19.9 + i, currency: source === 'hotmart' ? 'BRL' : 'USD', payment_method: 'card' } }, at()));
    }
  }
  // Another org's events, the same shapes: never in this org's numbers.
  const foreign = Array.from({ length: 40 }, (_, i) => event(other.orgId, { lead_id: `x${i}`, source: 'web_a', event_type: 'source.rejected', outcome: 'failure', reason: 'Foreign', external_event_id: `f${i}` }, at()));
  // Outside the range (a day before): never counted either.
  const early = event(orgId, { lead_id: 'early', source: 'web_a', event_type: 'source.submitted', outcome: 'success', external_event_id: 'early' }, DAY0 - 3_600_000);
  const archive = new LocalArchive({ dir: archiveDir, maxRows: 100_000 });
  await archive.start();
  await archive.putRows([...seeded, ...foreign, early].map((e) => toArchiveRow(e)));
  await archive.flush();
  // At least once: a third again in a later file, and some a third time.
  await archive.putRows(seeded.filter((_, i) => i % 3 === 0).map((e) => toArchiveRow(e)));
  await archive.flush();
  await archive.putRows(seeded.filter((_, i) => i % 7 === 0).map((e) => toArchiveRow(e)));
  await archive.stop();
});
afterAll(() => api.close());

const get = async (path: string) => api.request('GET', path, { key });
async function report(name: string, query: Record<string, string> = {}) {
  const response = await get(`/v1/reports/${name}?${new URLSearchParams({ from: FROM, to: TO, ...query })}`);
  expect(response.status, response.text).toBe(200);
  return response.body as { name: string; columns: { name: string; type: string }[]; rows: Record<string, unknown>[]; from: string; to: string };
}

const inRange = () => seeded.filter((e) => e.occurred_at >= FROM && e.occurred_at < TO);
const count = (list: LeadEvent[], type: string) => list.filter((e) => e.event_type === type).length;
const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
/** Exact sums as the report takes them (DECIMAL): in millionths, then back. */
const exactSum = (values: number[]) => sum(values.map((v) => Math.round(v * 1e6))) / 1e6;
const groupBy = <T>(list: T[], keyOf: (t: T) => string | null) => {
  const map = new Map<string | null, T[]>();
  for (const item of list) map.set(keyOf(item), [...(map.get(keyOf(item)) ?? []), item]);
  return map;
};
/** What a group shows for an id or reason value (section 13): an e-mail's domain, a phone's country and area code. */
const shown = (value: string | undefined) => (value === undefined ? null : value.includes('@') ? `@${value.split('@')[1]}` : value.startsWith('+1') ? value.slice(0, 5) : value);

describe('reports (numbers computed here from the seeded events)', () => {
  it('source_performance per source and per flow, with a type-family filter', async () => {
    const body = await report('source_performance');
    expect(body.columns.map((c) => c.name)).toEqual(['source', 'submitted', 'accepted', 'delivered', 'acceptance_rate', 'delivery_rate', 'costs', 'revenue', 'profit']);
    const expected = (keyOf: (e: LeadEvent) => string | null, list = inRange()) => [...groupBy(list, keyOf)].map(([group, mine]) => {
      const submitted = count(mine, 'source.submitted');
      const accepted = count(mine, 'source.accepted');
      const delivered = count(mine, 'recipient.delivered');
      const costs = exactSum(mine.map((e) => (e.payload.cost as number) ?? 0));
      const revenue = exactSum(mine.filter((e) => e.event_type === 'recipient.delivered').map((e) => e.payload.price as number));
      return { group, submitted, accepted, delivered, acceptance_rate: submitted ? accepted / submitted : null, delivery_rate: accepted ? delivered / accepted : null, costs, revenue, profit: Math.round((revenue - costs) * 1e6) / 1e6 };
    }).filter((r) => r.submitted > 0 || r.delivered > 0);
    const bySource = expected((e) => e.source);
    expect(body.rows).toHaveLength(bySource.length);
    for (const { group, ...numbers } of bySource) expect(body.rows).toContainEqual({ source: group, ...numbers });
    const byFlow = await report('source_performance', { group_by: 'flow_id', type: 'source.*' });
    const flowExpected = expected((e) => e.flow_id ?? null, inRange().filter((e) => e.event_type.startsWith('source.')));
    expect(byFlow.rows.map((r) => r.flow_id).sort()).toEqual(flowExpected.map((r) => r.group).sort());
    for (const { group, ...numbers } of flowExpected) expect(byFlow.rows).toContainEqual({ flow_id: group, ...numbers });
  });

  it('buyer_behaviour: a buyer that is an e-mail shows its domain, a phone its area code', async () => {
    const body = await report('buyer_behaviour');
    const recipient = inRange().filter((e) => e.entity_id && e.event_type.startsWith('recipient.'));
    const groups = groupBy(recipient, (e) => shown(e.entity_id));
    expect(body.rows.map((r) => r.entity_id).sort()).toEqual([...groups.keys()].sort());
    expect(body.rows.map((r) => r.entity_id)).toEqual(expect.arrayContaining(['@buyers.example', '+1415', 'buyer_1']));
    for (const [group, mine] of groups) {
      const accepted = count(mine, 'recipient.delivered');
      const revenue = exactSum(mine.map((e) => (e.payload.price as number) ?? 0));
      const leads = new Set(mine.map((e) => e.lead_id)).size;
      const row = body.rows.find((r) => r.entity_id === group)!;
      expect(row).toMatchObject({ accepted, rejected: mine.length - accepted, acceptance_rate: accepted / mine.length, revenue, leads });
      expect(row.avg_response_ms).toBeCloseTo(sum(mine.map((e) => e.timing!.duration_ms!)) / mine.length, 9);
      expect(row.revenue_per_lead).toBeCloseTo(revenue / leads, 9);
    }
    // The filter takes the real buyer id (the archive holds its pseudonym).
    const one = await report('buyer_behaviour', { entity_id: 'ana@buyers.example' });
    expect(one.rows).toEqual([expect.objectContaining({ entity_id: '@buyers.example', accepted: count(groups.get('@buyers.example')!, 'recipient.delivered') })]);
  });

  it('rejection_reasons by reason (an e-mail reason by its domain), by source, and with outcome and source filters', async () => {
    const rejected = inRange().filter((e) => ['source.rejected', 'filter.failed', 'recipient.failed'].includes(e.event_type));
    const body = await report('rejection_reasons');
    for (const [group, mine] of groupBy(rejected, (e) => shown(e.reason))) expect(body.rows).toContainEqual({ reason: group, rejections: mine.length, share: mine.length / rejected.length });
    expect(body.rows.some((r) => String(r.reason).includes('sam'))).toBe(false);
    const filtered = rejected.filter((e) => e.outcome === 'error' && e.source === 'web_a');
    const bySource = await report('rejection_reasons', { group_by: 'source', outcome: 'error', source: 'web_a' });
    expect(bySource.rows).toEqual(filtered.length ? [{ source: 'web_a', rejections: filtered.length, share: 1 }] : []);
  });

  it('step_duration per step and per event type', async () => {
    const timed = inRange().filter((e) => e.timing?.duration_ms !== undefined);
    const body = await report('step_duration', { group_by: 'event_type' });
    for (const [group, mine] of groupBy(timed, (e) => e.event_type)) {
      const durations = mine.map((e) => e.timing!.duration_ms!);
      const row = body.rows.find((r) => r.event_type === group)!;
      expect(row).toMatchObject({ executions: mine.length, min_duration_ms: Math.min(...durations), max_duration_ms: Math.max(...durations), total_duration_ms: exactSum(durations) });
      expect(row.avg_duration_ms).toBeCloseTo(exactSum(durations) / mine.length, 9);
    }
    const steps = await report('step_duration');
    expect(steps.rows.map((r) => r.step_id).sort()).toEqual([...groupBy(timed, (e) => e.step_id ?? null).keys()].sort());
  });

  it('success_rates per event type and per day', async () => {
    const withOutcome = inRange().filter((e) => e.outcome);
    const body = await report('success_rates');
    for (const [group, mine] of groupBy(withOutcome, (e) => e.event_type)) {
      const of = (o: string) => mine.filter((e) => e.outcome === o).length;
      expect(body.rows).toContainEqual({
        event_type: group, events: mine.length, success: of('success'), failure: of('failure'), error: of('error'), skip: of('skip'),
        success_rate: of('success') / mine.length, failure_rate: of('failure') / mine.length, error_rate: of('error') / mine.length, skip_rate: of('skip') / mine.length,
      });
    }
    const byDay = await report('success_rates', { group_by: 'day' });
    expect(byDay.rows.map((r) => [r.day, r.events])).toEqual([...groupBy(withOutcome, (e) => e.occurred_at.slice(0, 10))].sort().map(([d, m]) => [d, m.length]));
  });

  it('lead_funnel over everything (one row) and per day', async () => {
    const funnel = (list: LeadEvent[]) => {
      const leads = groupBy(list, (e) => e.lead_id);
      const has = (mine: LeadEvent[], ...types: string[]) => types.every((t) => mine.some((e) => e.event_type === t));
      const all = [...leads.values()];
      const viewed = all.filter((m) => has(m, 'product_viewed')).length;
      const full = all.filter((m) => has(m, 'product_viewed', 'product_asked', 'purchase_completed')).length;
      return { leads: all.length, viewed, viewed_then_asked: all.filter((m) => has(m, 'product_viewed', 'product_asked')).length, viewed_asked_purchased: full, purchased_total: all.filter((m) => has(m, 'purchase_completed')).length, conversion_from_view: viewed ? full / viewed : null };
    };
    const body = await report('lead_funnel');
    expect(body.columns[0]!.name).toBe('leads');
    expect(body.rows).toEqual([funnel(inRange())]);
    const byDay = await report('lead_funnel', { group_by: 'day' });
    expect(byDay.rows).toEqual([...groupBy(inRange(), (e) => e.occurred_at.slice(0, 10))].sort().map(([day, mine]) => ({ day, ...funnel(mine) })));
  });

  it('revenue_by_source per source and currency, with a time window', async () => {
    const from = '2026-03-03T00:00:00.000Z';
    const body = await report('revenue_by_source', { from });
    const purchases = inRange().filter((e) => e.event_type === 'purchase_completed' && e.occurred_at >= from);
    const groups = groupBy(purchases, (e) => `${e.source}|${e.payload.currency}`);
    expect(body.rows).toHaveLength(groups.size);
    for (const [group, mine] of groups) {
      const [source, currency] = group!.split('|');
      const revenue = exactSum(mine.map((e) => e.payload.amount as number));
      expect(body.rows).toContainEqual({ source, currency, purchases: mine.length, revenue, average_order: revenue / mine.length });
    }
  });

  it('trends per day and per hour, by event type and outcome', async () => {
    for (const interval of ['day', 'hour'] as const) {
      const body = await report('trends', { interval });
      const bucket = (e: LeadEvent) => (interval === 'day' ? `${e.occurred_at.slice(0, 10)}T00:00:00.000Z` : `${e.occurred_at.slice(0, 13)}:00:00.000Z`);
      const groups = groupBy(inRange(), (e) => `${bucket(e)}|${e.event_type}|${e.outcome ?? ''}`);
      expect(body.rows).toHaveLength(groups.size);
      for (const [group, mine] of groups) {
        const [b, type, outcome] = group!.split('|');
        expect(body.rows).toContainEqual({ bucket: b, event_type: type, outcome: outcome || null, events: mine.length });
      }
    }
  });

  it('never counts another org: its key sees only its own rows', async () => {
    const body = await report('rejection_reasons');
    expect(body.rows.map((r) => r.reason)).not.toContain('Foreign');
  });
});

describe('requests a report refuses', () => {
  it('an unknown report is 404; a group_by the report does not take is 400 naming what it takes; every bad field at once', async () => {
    expect((await get('/v1/reports/nope')).status).toBe(404);
    const bad = await get(`/v1/reports/lead_funnel?group_by=reason&from=yesterday&source=Bad%20Source&outcome=maybe&type=nope&interval=hour&extra=1`);
    expect(bad.status).toBe(400);
    const paths = bad.body.errors.map((e: { path: string }) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['group_by', 'from', 'source', 'outcome', 'type', 'interval', 'extra']));
    expect(bad.body.errors.find((e: { path: string }) => e.path === 'group_by').message).toContain('source, flow_id, hour, day');
    const lone = await get('/v1/reports/source_performance?flow_id=a%01b');
    expect(lone.status).toBe(400);
    const long = await get(`/v1/reports/source_performance?entity_id=${'x'.repeat(300)}`);
    expect(long.status).toBe(400);
    const range = await get(`/v1/reports/trends?from=${TO}&to=${FROM}`);
    expect(range.status).toBe(400);
    const scopes = await api.keyFor(orgId, ['events:write']);
    expect((await api.request('GET', '/v1/reports/trends', { key: scopes })).status).toBe(403);
  });

  it('an injected quote is a value, never SQL', async () => {
    const body = await report('source_performance', { flow_id: "x' OR '1'='1" });
    expect(body.rows).toEqual([]);
  });
});

describe('a report that outlasts the request', () => {
  it('answers 202 + Location; the run then succeeds with the same numbers; another org or a tampered id is 404', async () => {
    const direct = await report('success_rates', { group_by: 'source' });
    const slow = await startTestApi({ requestTimeoutMs: 1_700 });
    try {
      engine.closeGate();
      const started = await slow.request('GET', `/v1/reports/success_rates?${new URLSearchParams({ from: FROM, to: TO, group_by: 'source' })}`, { key });
      expect(started.status, started.text).toBe(202);
      const location = started.headers.get('location')!;
      expect(location).toBe(`/v1/reports/runs/${started.body.id}`);
      expect((await slow.request('GET', location, { key })).body).toEqual({ id: started.body.id, status: 'running' });
      engine.openGate();
      let run;
      for (let i = 0; i < 50; i++) {
        run = await slow.request('GET', location, { key });
        if (run.body.status !== 'running') break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(run!.body.status).toBe('succeeded');
      expect(run!.body.report.rows).toEqual(direct.rows);
      expect(run!.body.report.columns).toEqual(direct.columns);
      const other = await api.newOrg();
      expect((await slow.request('GET', location, { key: other.key })).status).toBe(404);
      const id = started.body.id as string;
      const tampered = `${id.slice(0, 5)}${id[5] === 'A' ? 'B' : 'A'}${id.slice(6)}`;
      expect((await slow.request('GET', `/v1/reports/runs/${tampered}`, { key })).status).toBe(404);
      expect((await slow.request('GET', '/v1/reports/runs/not-a-run', { key })).status).toBe(404);
    } finally {
      engine.openGate();
      await slow.close();
    }
  });
});

