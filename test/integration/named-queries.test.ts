import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runArchiveSql, runNamedQuery } from '../../infra/local/athena.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { namedQueries } from '../../shared/definitions/archive.js';
import { namedQuerySql } from '../../infra/queries.js';
import { buildReportSql, parseReportRequest } from '../../shared/domain/reports.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import type { LeadEvent } from '../../shared/domain/event.js';

/** A seeded generator: the same archive every run. */
function random(seed: number) {
  return () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
}

const ORG = 'org_analytics';
const rand = random(42);
const pick = <T>(values: readonly T[]) => values[Math.floor(rand() * values.length)]!;
const events: LeadEvent[] = [];
let n = 0;
function add(e: Partial<LeadEvent>, orgId = ORG, day = pick(['2026-11-20', '2026-11-21', '2026-11-22'])) {
  const hour = String(Math.floor(rand() * 24)).padStart(2, '0');
  const at = `${day}T${hour}:${String(Math.floor(rand() * 60)).padStart(2, '0')}:00.000Z`;
  events.push({ id: `00000000-0000-4000-8000-${String(n++).padStart(12, '0')}`, org_id: orgId, lead_id: 'l', source_type: 'internal', source: 'leadconduit', event_type: 'custom.x', payload: {}, occurred_at: at, received_at: at, expires_at: at, schema_version: '1', ...e } as LeadEvent);
}

const sources = ['web_a', 'web_b', 'partner_c'] as const;
const buyers = ['buyer_1', 'buyer_2'] as const;
const reasons = ['Invalid phone', 'Duplicate', 'Outside service area'] as const;
for (let i = 0; i < 400; i++) {
  const lead = `lead_${i}`;
  const source = pick(sources);
  add({ lead_id: lead, source, event_type: 'source.submitted', outcome: 'success', step_id: 'intake', timing: { duration_ms: Math.round(rand() * 100) }, payload: { cost: 0.5 } });
  if (rand() < 0.25) {
    add({ lead_id: lead, source, event_type: 'source.rejected', outcome: 'failure', reason: pick(reasons) });
    continue;
  }
  add({ lead_id: lead, source, event_type: 'source.accepted', outcome: 'success' });
  add({ lead_id: lead, source, event_type: 'enhancement.success', outcome: 'success', step_id: 'phone_check', timing: { duration_ms: 200 + Math.round(rand() * 3000) }, payload: { cost: 0.01 } });
  if (rand() < 0.1) add({ lead_id: lead, source, event_type: 'filter.failed', outcome: 'failure', reason: pick(reasons) });
  const buyer = pick(buyers);
  if (rand() < 0.7) add({ lead_id: lead, source, entity_id: buyer, event_type: 'recipient.delivered', outcome: 'success', timing: { duration_ms: Math.round(rand() * 500) }, payload: { price: 10 + Math.round(rand() * 40) } });
  else add({ lead_id: lead, source, entity_id: buyer, event_type: 'recipient.failed', outcome: 'failure', reason: pick(reasons), timing: { duration_ms: Math.round(rand() * 500) } });
}
for (let i = 0; i < 150; i++) {
  const lead = `shopper_${i}`;
  const source = pick(['stripe', 'hotmart', 'shopify'] as const);
  if (rand() < 0.8) add({ lead_id: lead, source_type: 'direct', source: 'web', event_type: 'product_viewed', payload: { product_id: 'p1', product_name: 'Course', category: 'edu' } });
  if (rand() < 0.5) add({ lead_id: lead, source_type: 'direct', source: 'whatsapp', event_type: 'product_asked', payload: { product_id: 'p1', question: 'q', channel: 'whatsapp' } });
  if (rand() < 0.4) {
    const currency = source === 'hotmart' ? 'BRL' : 'USD';
    add({ lead_id: lead, source_type: 'external', source, event_type: 'purchase_completed', payload: { product_id: 'p1', product_name: 'Course', category: 'edu', amount: 20 + Math.round(rand() * 100), currency, payment_method: 'card' } });
  }
}
// Another org's events, and ones outside the queried range: neither may show up.
for (let i = 0; i < 50; i++) add({ event_type: 'source.rejected', outcome: 'failure', reason: 'Other org' }, 'org_other');
add({ event_type: 'source.rejected', outcome: 'failure', reason: 'Too early' }, ORG, '2026-10-01');

const inRange = events.filter((e) => e.org_id === ORG && e.occurred_at >= '2026-11-20' && e.occurred_at < '2026-11-23');

let dir: string;
const run = (name: (typeof namedQueries)[number]['name']) => runNamedQuery(dir, name, ORG, '2026-11-20', '2026-11-22').then((r) => r.rows);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'leadlog-queries-'));
  const archive = new LocalArchive({ dir, maxRows: 100_000 });
  await archive.start();
  await archive.putRows(events.map((event) => toArchiveRow(event)));
  await archive.flush();
  // At least once, as Firehose delivers: a third of the rows again, in a later file. Every expectation below is
  // computed from `events` (each once), so each query must count each event once.
  await archive.putRows(events.filter((_, i) => i % 3 === 0).map((event) => toArchiveRow(event)));
  await archive.stop();
});

it('the archive holds copies, and the events view shows each event once', async () => {
  const raw = await runArchiveSql(dir, 'SELECT count(*) AS copies, count(DISTINCT id) AS ids FROM events_raw');
  expect(Number(raw.rows[0]!.copies)).toBe(events.length + Math.ceil(events.length / 3));
  expect(Number(raw.rows[0]!.ids)).toBe(events.length);
  const view = await runArchiveSql(dir, 'SELECT count(*) AS n FROM events');
  expect(Number(view.rows[0]!.n)).toBe(events.length);
});

describe('named queries are the reports (numbers checked against the seeded events in test/integration/reports.test.ts)', () => {
  // `npm run athena -- --query <name>` and Athena's named query run queries/<name>.sql as is; the API runs the same
  // text with its filters added. Over whole days both answer the same rows: the definitions cannot drift apart.
  for (const { name } of namedQueries) {
    it(`${name}: the named query answers what GET /v1/reports/${name} computes over the same days`, async () => {
      const request = parseReportRequest(name, { from: '2026-11-20T00:00:00.000Z', to: '2026-11-23T00:00:00.000Z' }, Date.parse('2026-12-01T00:00:00.000Z'));
      const query = buildReportSql(namedQuerySql(name), request, ORG);
      expect(query.sql).not.toBe(namedQuerySql(name));
      const viaApi = await runArchiveSql(dir, query.sql, query.params);
      const named = await run(name);
      expect(named.length).toBeGreaterThan(0);
      expect(named).toEqual(viaApi.rows);
    });
  }

  it('rejection_reasons counts each event once (copies in the archive)', async () => {
    const rejected = inRange.filter((e) => ['source.rejected', 'filter.failed', 'recipient.failed'].includes(e.event_type));
    const rows = await run('rejection_reasons');
    expect(rows.reduce((total, r) => total + Number(r.rejections), 0)).toBe(rejected.length);
    expect(rows.find((r) => r.reason === 'Duplicate')!.rejections).toBe(String(rejected.filter((e) => e.reason === 'Duplicate').length));
  });

  it('never returns another org, and a query without the org names none', async () => {
    expect((await runNamedQuery(dir, 'rejection_reasons', 'org_other', '2026-11-20', '2026-11-22')).rows.map((r) => r.reason)).toEqual(['Other org']);
    expect((await runNamedQuery(dir, 'rejection_reasons', 'org_nobody')).rows).toEqual([]);
    const partitions = await runArchiveSql(dir, 'SELECT count(DISTINCT dt) AS days FROM events WHERE org_id = ?', [ORG]);
    expect(partitions.rows[0]).toEqual({ days: '4' });
  });
});

describe('a long scan reports its progress', () => {
  it('runs task by task with the same result, telling how far it got', async () => {
    const seen: { percentage: number; elapsedMs: number }[] = [];
    const sql = "SELECT count(*) AS n, sum(length(e.payload)) AS bytes FROM events e, range(2000) r WHERE e.org_id = 'org_analytics'";
    const plain = await runArchiveSql(dir, sql);
    const reported = await runArchiveSql(dir, sql, [], { onProgress: (p) => seen.push(p), progressEveryMs: 0 });
    expect(reported.rows).toEqual(plain.rows);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => p.elapsedMs >= 0 && p.percentage <= 100)).toBe(true);
  });
});
