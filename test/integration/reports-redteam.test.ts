import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDuckDb } from '../../infra/local/duckdb.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalReportEngine } from '../../infra/local/local-report-engine.js';
import { localStandIns } from '../../shared/adapters/local-stand-ins.js';
import { REPORT_NAMES } from '../../shared/definitions/reports.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { buildEvent, validateEventInput, type EventInput, type LeadEvent } from '../../shared/domain/event.js';
import { startTestApi, type TestApi } from '../support/api.js';

/**
 * Red team of issue #24 (docs/security.md "Issue #24 red team"): reports over values a messy world sends. Numbers
 * are computed here, independently, from the seeded events, by Trino's rule for a DOUBLE cast to DECIMAL (the
 * value's shortest decimal text, rounded half up to 6 places: io.trino.spi.type.DecimalConversions), which the SQL
 * must follow in DuckDB too.
 */

const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-reports-rt-'));
let api: TestApi;
let orgId: string;
let key: string;
const FROM = '2026-03-02T00:00:00.000Z';
const TO = '2026-03-05T00:00:00.000Z';
const DAY0 = Date.parse(FROM);
const seeded: LeadEvent[] = [];

function event(org: string, input: Record<string, unknown>, at: number): LeadEvent {
  const checked = validateEventInput({ source_type: 'internal', occurred_at: new Date(at).toISOString(), payload: {}, ...input }, { now: at + 60_000, requireLeadId: true });
  if (!checked.ok) throw new Error(JSON.stringify(checked));
  return buildEvent((checked as { ok: true; value: EventInput }).value, { orgId: org, now: at + 1000 }).event;
}

/** Micro-units (BigInt) of a DOUBLE as Trino casts it to DECIMAL(p, 6): BigDecimal.valueOf(d).setScale(6, HALF_UP). */
function trinoMicros(value: number): bigint {
  const [mantissa, exponent] = Math.abs(value).toExponential().split('e') as [string, string];
  const digits = mantissa.replace('.', '');
  const point = 1 + Number(exponent); // digits before the decimal point
  const padded = point <= 0 ? '0'.repeat(1 - point) + digits : digits.padEnd(point, '0');
  const at = Math.max(point, 1);
  const fraction = (padded.slice(at) + '0'.repeat(7)).slice(0, 7);
  let micros = BigInt(padded.slice(0, at) + fraction.slice(0, 6));
  if (fraction[6]! >= '5') micros += 1n;
  return value < 0 ? -micros : micros;
}
/** What a report sums: values under 10^14 (DECIMAL(20, 6)), exactly; the rest is left out. */
const SUMMABLE = 1e14;
const exactSum = (values: (number | undefined)[]) => {
  const micros = values.filter((v): v is number => typeof v === 'number' && Math.abs(v) < SUMMABLE).reduce((a, v) => a + trinoMicros(v), 0n);
  return Number(micros) / 1e6; // the API answers JSON numbers: Number of the decimal text
};

// Prices and costs as a messy world sends them: huge (1e40 passes `amount >= 0`), billions with cents (where
// DuckDB's own DOUBLE → DECIMAL cast drifts from Trino's), 0.1 + 0.2, half-way sevenths, zero; a custom type's
// payload is not validated at all (negative, 1e300).
const PRICES = [1e40, 6175673007965.09, 0.1 + 0.2, 1.0000005, 0, 12.5, 99999999999999.9, 1e14];
const COSTS = [0.1, 0.2, 1e300, -5, 2424538135528.56, 0.0000025];
const DURATIONS = [1e20, 0.25, 1e13 + 0.5, 0];

beforeAll(async () => {
  localStandIns.reports = new LocalReportEngine(archiveDir);
  api = await startTestApi();
  ({ orgId, key } = await api.newOrg());
  let n = 0;
  const at = (i: number) => DAY0 + i * 3_600_000 + 17;
  PRICES.forEach((price, i) => seeded.push(event(orgId, { lead_id: `l${i}`, source: 'web_a', entity_id: 'buyer_1', event_type: 'recipient.delivered', outcome: 'success', external_event_id: `p${n++}`, timing: { duration_ms: DURATIONS[i % DURATIONS.length] }, payload: { price } }, at(i))));
  COSTS.forEach((cost, i) => seeded.push(event(orgId, { lead_id: `c${i}`, source: 'web_a', event_type: i % 2 ? 'custom.cost_booked' : 'source.submitted', outcome: 'success', external_event_id: `c${n++}`, payload: { cost } }, at(i))));
  PRICES.forEach((amount, i) => seeded.push(event(orgId, { lead_id: `s${i}`, source: 'stripe', source_type: 'direct', event_type: 'purchase_completed', external_event_id: `s${n++}`, payload: { product_id: 'p', product_name: 'P', category: 'c', amount, currency: 'IDR', payment_method: 'card' } }, at(i))));
  const archive = new LocalArchive({ dir: archiveDir, maxRows: 100_000 });
  await archive.start();
  await archive.putRows(seeded.map((e) => toArchiveRow(e)));
  await archive.flush();
  await archive.putRows(seeded.filter((_, i) => i % 2 === 0).map((e) => toArchiveRow(e))); // at least once
  await archive.stop();
});
afterAll(() => api.close());

const get = async (path: string) => api.request('GET', path, { key });
async function report(name: string, query: Record<string, string> = {}) {
  const response = await get(`/v1/reports/${name}?${new URLSearchParams({ from: FROM, to: TO, ...query })}`);
  expect(response.status, response.text).toBe(200);
  return response.body as { rows: Record<string, unknown>[] };
}

describe('amounts a report cannot hold never fail it, and sum as Trino sums them', () => {
  it('source_performance and buyer_behaviour: 1e40, 1e300 and -5 among the prices and costs answer 200 with exact sums', async () => {
    const delivered = seeded.filter((e) => e.event_type === 'recipient.delivered');
    const revenue = exactSum(delivered.map((e) => e.payload.price as number));
    const costs = exactSum(seeded.filter((e) => e.source === 'web_a').map((e) => e.payload.cost as number | undefined));
    const performance = await report('source_performance');
    expect(performance.rows).toEqual([expect.objectContaining({ source: 'web_a', submitted: 3, delivered: PRICES.length, costs, revenue })]);
    expect(performance.rows[0]!.profit).toBe(Number(BigInt(Math.round(revenue * 1e6)) - BigInt(Math.round(costs * 1e6))) / 1e6);
    const buyers = await report('buyer_behaviour');
    expect(buyers.rows).toEqual([expect.objectContaining({ entity_id: 'buyer_1', accepted: PRICES.length, revenue, leads: PRICES.length })]);
    expect(buyers.rows[0]!.revenue_per_lead).toBe(revenue / PRICES.length);
  });

  it('revenue_by_source: billions with cents sum exactly (DuckDB\'s own cast would answer …089792)', async () => {
    const body = await report('revenue_by_source');
    const revenue = exactSum(PRICES);
    expect(body.rows).toEqual([{ source: 'stripe', currency: 'IDR', purchases: PRICES.length, revenue, average_order: revenue / PRICES.length }]);
  });

  it('step_duration: a duration of 10^14 ms or more is left out of every column, the rest exact', async () => {
    const durations = seeded.map((e) => e.timing?.duration_ms).filter((d): d is number => d !== undefined && d < SUMMABLE);
    const body = await report('step_duration', { group_by: 'event_type' });
    expect(body.rows).toEqual([{
      event_type: 'recipient.delivered', executions: durations.length, avg_duration_ms: exactSum(durations) / durations.length,
      min_duration_ms: Math.min(...durations), max_duration_ms: Math.max(...durations), total_duration_ms: exactSum(durations),
    }]);
  });

  it('every DECIMAL in a report is the one exact form, and DuckDB evaluates it as Trino casts a DOUBLE (10,000 values)', async () => {
    const EXACT = /TRY_CAST\(TRY_CAST\(CAST\((\w+) AS VARCHAR\) AS DECIMAL\(38, 12\)\) AS DECIMAL\(20, 6\)\)/g;
    for (const name of REPORT_NAMES) {
      const sql = readFileSync(join(import.meta.dirname, '../../queries', `${name}.sql`), 'utf8').replace(/--[^\n]*/g, '');
      expect(sql.replace(EXACT, '').match(/DECIMAL/g) ?? [], name).toEqual([]);
    }
    let seed = 11;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const values = [...PRICES, ...COSTS, 1.0000005, -1.0000005, 0.0000025, 9e-8, 7e-300, 4.9999e-7, 12345.0000005];
    for (let k = -9; k <= 13; k++) for (let i = 0; i < 440; i++) values.push(Number(((random() - 0.1) * 10 ** k).toPrecision(1 + Math.floor(random() * 15))));
    const connection = await openDuckDb();
    try {
      await connection.run('CREATE TABLE v (i INTEGER, x DOUBLE)');
      const appender = await connection.createAppender('v');
      values.forEach((x, i) => { appender.appendInteger(i); appender.appendDouble(x); appender.endRow(); });
      appender.closeSync();
      const expression = 'TRY_CAST(TRY_CAST(CAST(x AS VARCHAR) AS DECIMAL(38, 12)) AS DECIMAL(20, 6))';
      const rows = (await connection.runAndReadAll(`SELECT i, CAST(${expression} * 1000000 AS VARCHAR) AS micros FROM v ORDER BY i`)).getRowObjectsJson() as { i: number; micros: string | null }[];
      const wrong = rows.filter(({ i, micros }) => {
        const expected = Math.abs(values[i]!) < SUMMABLE ? trinoMicros(values[i]!) : null;
        return (micros === null ? null : BigInt(micros.replace(/\.0+$/, ''))) !== expected;
      });
      expect(wrong.map(({ i, micros }) => `${values[i]} → ${micros}`)).toEqual([]);
    } finally {
      connection.closeSync();
    }
  });
});

describe('an answer larger than a Lambda may return', () => {
  it('is refused as 400 naming what to narrow (it would be Lambda\'s 5xx in AWS); a narrower range answers', async () => {
    const big = await api.newOrg();
    const template = toArchiveRow(event(big.orgId, { lead_id: 'l', source: 'web_a', event_type: 'recipient.delivered', outcome: 'success', entity_id: 'b', external_event_id: 'x' }, DAY0));
    // 40,000 buyers, one delivery each, the first half on day one: ~130 bytes a row grouped by buyer.
    const rows = Array.from({ length: 40_000 }, (_, i) => ({
      ...template, id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, entity_id: `buyer_${String(i).padStart(6, '0')}`, lead_id: `lead_${i}`,
      occurred_at: new Date(DAY0 + (i < 20_000 ? 0 : 86_400_000) + i).toISOString(), dt: i < 20_000 ? '2026-03-02' : '2026-03-03',
    }));
    const archive = new LocalArchive({ dir: archiveDir, maxRows: 100_000 });
    await archive.start();
    await archive.putRows(rows);
    await archive.stop();
    const query = (to: string) => `/v1/reports/buyer_behaviour?${new URLSearchParams({ from: FROM, to, group_by: 'entity_id' })}`;
    const refused = await api.request('GET', query(TO), { key: big.key });
    expect(refused.status, refused.text.slice(0, 300)).toBe(400);
    expect(refused.body.errors).toEqual([{ path: 'from', message: expect.stringMatching(/too large to answer .*narrow from\/to/) }]);
    const narrower = await api.request('GET', query('2026-03-03T00:00:00.000Z'), { key: big.key });
    expect(narrower.status).toBe(200);
    expect(narrower.body.rows).toHaveLength(20_000);
    expect((await api.request('GET', `/v1/reports/source_performance?${new URLSearchParams({ from: FROM, to: TO })}`, { key: big.key })).body.rows).toEqual([
      expect.objectContaining({ source: 'web_a', delivered: 40_000 }),
    ]);
  });
});
