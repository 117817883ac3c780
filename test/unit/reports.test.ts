import { describe, expect, it } from 'vitest';
import { namedQuerySql } from '../../infra/queries.js';
import { REPORTS, type GroupBy } from '../../shared/definitions/reports.js';
import { ValidationError, NotFoundError } from '../../shared/domain/errors.js';
import { legacyMaskId, maskId } from '../../shared/domain/masking.js';
import { buildReportSql, groupExpression, parseReportRequest, reportColumns, typedRow } from '../../shared/domain/reports.js';

const NOW = Date.parse('2026-03-10T00:00:00.000Z');
const range = { from: '2026-03-01T10:00:00.000Z', to: '2026-03-03T00:00:00.000Z' };
const build = (name: string, params: Record<string, string> = {}) => buildReportSql(namedQuerySql(name as never), parseReportRequest(name, { ...range, ...params }, NOW), 'org_1');
/** `?` outside comments and string literals. */
const placeholders = (sql: string) => (sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''").match(/\?/g) ?? []).length;

describe('the report SQL builder', () => {
  it('every report file is its own default: the builder changes only the filters marker', () => {
    for (const report of REPORTS) {
      const file = namedQuerySql(report.name);
      const { sql } = build(report.name);
      expect(sql.replace(/AND occurred_at >= CAST\(\? AS TIMESTAMP\) AND occurred_at < CAST\(\? AS TIMESTAMP\)/, '/* report filters */'), report.name).toBe(file);
    }
  });

  it('binds every value, hostile ones included, as a parameter: the SQL text never holds them', () => {
    const hostile = "x' OR 1=1; DROP TABLE events --";
    const { sql, params } = build('source_performance', { flow_id: hostile, entity_id: 'ana@example.com', source: 'web_a', outcome: 'failure', type: 'source.*,purchase_completed' });
    expect(sql).not.toContain('DROP');
    expect(sql).not.toContain('ana@');
    expect(placeholders(sql)).toBe(params.length);
    expect(params.slice(0, 5)).toEqual(['org_1', '2026-03-01', '2026-03-02', '2026-03-01 10:00:00.000', '2026-03-03 00:00:00.000']);
    expect(params).toEqual(expect.arrayContaining(['source.', 'purchase_completed', 'web_a', 'failure', hostile, maskId('ana@example.com'), legacyMaskId('ana@example.com')]));
    expect(sql).toContain('starts_with(event_type, ?)');
  });

  it('group_by picks its expression from the whitelist and names the first column after it', () => {
    for (const report of REPORTS) {
      for (const group of report.groupBy) {
        const { sql } = build(report.name, { group_by: group });
        expect(sql).toContain(`${groupExpression(group as GroupBy)} AS group_key`);
        expect(sql).toContain(`group_key AS ${group},`);
        expect(reportColumns(report, { groupBy: group })[0]!.name).toBe(group);
      }
    }
    expect(build('trends', { interval: 'hour' }).sql).toContain("date_trunc('hour', occurred_at) AS group_key");
    expect(build('lead_funnel').sql).toContain("'all' AS group_key");
    expect(build('lead_funnel').sql).not.toMatch(/group_key AS \w+,/);
  });

  it('ids and reasons never group as an e-mail or a phone; source and types group as they are', () => {
    for (const group of ['entity_id', 'flow_id', 'step_id', 'reason'] as const) expect(groupExpression(group)).toContain("'^[^@]*@([^@]+)$'");
    expect(groupExpression('source')).toBe('source');
  });
});

describe('report requests', () => {
  const errorsOf = (name: string, params: Record<string, string>) => {
    try {
      parseReportRequest(name, params, NOW);
    } catch (error) {
      if (error instanceof ValidationError) return error.errors!.map((e) => e.path);
      throw error;
    }
    return [];
  };

  it('an unknown report is not found; a group_by it does not take is 400 naming what it does', () => {
    expect(() => parseReportRequest('nope', {}, NOW)).toThrow(NotFoundError);
    expect(() => parseReportRequest('__proto__', {}, NOW)).toThrow(NotFoundError);
    expect(errorsOf('trends', { group_by: 'source' })).toEqual(['group_by']);
    expect(errorsOf('lead_funnel', { group_by: 'entity_id' })).toEqual(['group_by']);
    expect(errorsOf('source_performance', { interval: 'hour' })).toEqual(['interval']);
    expect(errorsOf('trends', { interval: 'week' })).toEqual(['interval']);
  });

  it('names every bad field at once: range, ids, unknown parameters, 1 MB strings', () => {
    const big = 'a'.repeat(1024 * 1024);
    expect(errorsOf('source_performance', { from: 'soon', source: 'Bad!', outcome: 'meh', group_by: big, entity_id: big, zzz: '1' }).sort())
      .toEqual(['entity_id', 'from', 'group_by', 'outcome', 'source', 'zzz']);
    expect(errorsOf('source_performance', { from: range.to, to: range.from })).toEqual(['from']);
    expect(errorsOf('source_performance', { to: '2026-04-01T00:00:00Z' })).toEqual(['to']);
    expect(errorsOf('source_performance', { from: '2020-01-01T00:00:00Z', to: '2026-03-01T00:00:00Z' })).toEqual(['from']);
    expect(errorsOf('source_performance', { flow_id: 'a\u0001b' })).toEqual(['flow_id']);
  });

  it('defaults: the last 30 days, the report\'s own grouping, trends per day', () => {
    const request = parseReportRequest('trends', {}, NOW);
    expect([request.fromMs, request.toMs, request.interval, request.groupBy]).toEqual([NOW - 30 * 86_400_000, NOW, 'day', undefined]);
    expect(parseReportRequest('buyer_behaviour', {}, NOW).groupBy).toBe('entity_id');
  });
});

describe('rows typed by their columns', () => {
  it('engines\' text becomes numbers and ISO timestamps; empty and missing become null', () => {
    const columns = [{ name: 'bucket', type: 'timestamp' }, { name: 'events', type: 'integer' }, { name: 'rate', type: 'number' }, { name: 'source', type: 'string' }, { name: 'day', type: 'date' }] as const;
    expect(typedRow(columns, { bucket: '2026-03-01 10:00:00.000', events: '12', rate: '0.25', source: 'web', day: '2026-03-01' }))
      .toEqual({ bucket: '2026-03-01T10:00:00.000Z', events: 12, rate: 0.25, source: 'web', day: '2026-03-01' });
    expect(typedRow(columns, { bucket: '', events: null, rate: 'NaN' })).toEqual({ bucket: null, events: null, rate: null, source: null, day: null });
    expect(typedRow(columns, { rate: '123.450000' }).rate).toBe(123.45);
  });
});
