import { describe, expect, it } from 'vitest';
import { packRows } from '../../shared/adapters/firehose-archive.js';
import { PROJECTION_DT_RANGE, archiveColumns, namedQueries } from '../../shared/definitions/archive.js';
import { validateEventInput } from '../../shared/domain/event.js';
import { namedQuerySql } from '../../infra/queries.js';
import { chunkRows, toArchiveRow } from '../../shared/domain/archive.js';
import type { LeadEvent } from '../../shared/domain/event.js';

const event = (over: Partial<LeadEvent> = {}): LeadEvent => ({
  id: 'e1', org_id: 'org_a', lead_id: 'l', source_type: 'external', source: 'stripe', event_type: 'purchase_completed',
  payload: { amount: 49.9, currency: 'USD', price: 3, email: 'ana@example.com' }, timing: { duration_ms: 12 },
  lead_snapshot: { first_name: 'Ana' }, raw_payload: { phone: '+5511999999999' },
  occurred_at: '2026-11-22T23:59:59.999Z', received_at: '2026-11-23T00:00:01.000Z', expires_at: 'x', schema_version: '1', ...over,
});

describe('archive rows', () => {
  it('carry every archive column, flat fields, masked JSON, and the partition keys', () => {
    const row = toArchiveRow(event());
    expect(Object.keys(row)).toEqual([...archiveColumns.map((c) => c.name), 'org_id', 'dt']);
    expect(row).toMatchObject({ org_id: 'org_a', dt: '2026-11-22', amount: 49.9, currency: 'USD', price: 3, duration_ms: 12, cost: null, outcome: null });
    expect(JSON.parse(row.payload as string).email).toBe('a***@example.com');
    expect(JSON.parse(row.lead_snapshot as string).first_name).toBe('A***');
    expect(JSON.parse(row.raw_payload as string).phone).toBe('+5511*********');
  });

  it('are chunked at 500 per Firehose call and packed per org and day into Firehose records', () => {
    const rows = Array.from({ length: 1200 }, (_, i) => toArchiveRow(event({ id: `e${i}`, org_id: i < 600 ? 'org_a' : 'org_b' })));
    expect(chunkRows(rows).map((c) => c.length)).toEqual([500, 500, 200]);
    const packs = packRows(rows.slice(590, 620));
    expect(packs.map((p) => p.rows.length)).toEqual([10, 20]);
    expect(packs[0]!.data.trim().split('\n')).toHaveLength(10);
  });
});

describe('named queries under Trino typing (Athena) as under DuckDB', () => {
  // Trino types `COUNT(*) * 100.0` as DECIMAL (one decimal digit after a division) and `a / b` of integers as an
  // integer division; DuckDB gives DOUBLE for both. Every ratio must therefore divide a DOUBLE, and no decimal
  // literal may enter arithmetic, so both engines return the same numbers.
  for (const { name } of namedQueries) {
    it(`${name}: no decimal literals, every division has a DOUBLE operand`, () => {
      const sql = namedQuerySql(name);
      expect(sql.match(/\b\d+\.\d+\b/g) ?? []).toEqual([]);
      for (const line of sql.split('\n').filter((l) => / \/ /.test(l))) {
        // A CAST to DOUBLE, or a sum of a DOUBLE column (price, amount, cost are DOUBLE in the Glue table).
        expect(/AS DOUBLE\)|SUM\((price|amount|cost)\)/.test(line), line.trim()).toBe(true);
      }
    });
  }
});

describe('archive rows and the Glue table agree', () => {
  it('every timestamp is written as the SerDe format reads it (yyyy-MM-ddTHH:mm:ss.SSS and a zone)', () => {
    const row = toArchiveRow(event({ occurred_at: '2026-11-22T23:59:59.999Z' }), {});
    for (const column of archiveColumns.filter((c) => c.type === 'timestamp')) {
      expect(String(row[column.name]), column.name).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
  });

  it('every occurred_at the API accepts falls inside the projection range, from the epoch to tomorrow (UTC)', () => {
    const [start, end] = PROJECTION_DT_RANGE.split(',');
    expect(start).toBe('1970-01-01');
    expect(end).toBe('NOW+1DAYS'); // 5 minutes of allowed future skew may be tomorrow's dt
    const now = Date.parse('2026-11-23T23:58:00Z');
    const accepts = (occurred_at: string) => validateEventInput({ lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'custom.x', payload: {}, occurred_at }, { now, requireLeadId: true }).ok;
    expect(accepts('1970-01-01T00:00:00Z')).toBe(true);
    expect(accepts('1999-01-01T00:00:00Z')).toBe(true);
    expect(accepts('1970-01-01T00:30:00+01:00')).toBe(false); // 1969-12-31 in UTC: before the projection
    expect(accepts('1969-12-31T23:59:59Z')).toBe(false);
    expect(accepts('2026-11-24T00:02:00Z')).toBe(true); // tomorrow's dt, inside NOW+1DAYS
  });
});
