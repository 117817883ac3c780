import { describe, expect, it } from 'vitest';
import { ApiError } from '../../console/src/api.js';
import { RawNumber } from '../../console/src/json.js';
import {
  axisTicks, chartOf, csvCell, csvField, drillDown, fetchReport, POLL_MS, type Answer, formatCell, rangeOf, reportPath, toCsv, urlQuery, viewOf, type ReportBody, type ReportView,
} from '../../console/src/reports.js';
import { csvCell as exportCsvCell, csvField as exportCsvField } from '../../shared/domain/exports.js';

const FROM = '2026-12-01T00:00:00.000Z';
const TO = '2026-12-08T00:00:00.000Z';
const body = (name: string, columns: [string, string][], rows: unknown[]): ReportBody => ({
  name, from: FROM, to: TO, columns: columns.map(([n, type]) => ({ name: n, type })), rows, generated_at: TO,
});
const sourcePerformance = body('source_performance', [['source', 'string'], ['submitted', 'integer'], ['acceptance_rate', 'number'], ['profit', 'number']], [
  { source: 'stripe', submitted: 10, acceptance_rate: 0.25, profit: -3.5 },
  { source: 'web', submitted: 4, acceptance_rate: null, profit: 12 },
]);
const trends = body('trends', [['bucket', 'timestamp'], ['event_type', 'string'], ['outcome', 'string'], ['events', 'integer']], [
  ['2026-12-02T00:00:00.000Z', 'source.submitted', 'success', 3],
  ['2026-12-02T00:00:00.000Z', 'recipient.delivered', 'success', 2],
  ['2026-12-02T00:00:00.000Z', 'recipient.failed', 'failure', 1],
  ['2026-12-01T00:00:00.000Z', 'product_viewed', null, 5],
]);
const view = (query: Record<string, string>): ReportView => viewOf(query);

describe("the Reports page's pure parts", () => {
  it('reads the whole view from the URL and writes it back unchanged; unknown values fall back instead of breaking the page', () => {
    const query = { report: 'step_duration', range: 'custom', from: FROM, to: TO, source: 'stripe', flow_id: 'f 1', entity_id: 'buyer_9', outcome: 'skip', type: 'source.*', group_by: 'day', measure: 'max_duration_ms' };
    const v = viewOf(query);
    expect(v).toEqual({ report: 'step_duration', range: 'custom', from: FROM, to: TO, filters: { source: 'stripe', flow_id: 'f 1', entity_id: 'buyer_9', outcome: 'skip', type: 'source.*' }, group_by: 'day', measure: 'max_duration_ms' });
    const back = (w: ReportView) => viewOf(Object.fromEntries(Object.entries(urlQuery(w)).filter(([, x]) => x !== undefined)) as Record<string, string>);
    expect(back(v)).toEqual(v);
    const t = viewOf({ report: 'trends', interval: 'hour' });
    expect(back(t)).toEqual({ report: 'trends', range: '7d', filters: {}, interval: 'hour' });
    // What the report does not accept (shared/definitions/reports.ts) is dropped: trends takes no group_by, the
    // funnel no interval, revenue no grouping by reason.
    expect(viewOf({ report: 'trends', group_by: 'day' }).group_by).toBeUndefined();
    expect(viewOf({ report: 'lead_funnel', interval: 'day' }).interval).toBeUndefined();
    expect(viewOf({ report: 'revenue_by_source', group_by: 'reason' }).group_by).toBeUndefined();
    expect(viewOf({ report: 'rejection_reasons', group_by: 'reason' }).group_by).toBe('reason');
    // Names of Object.prototype's members, unknown reports and groupings, and junk times are no view.
    expect(viewOf({ report: 'toString', range: 'constructor', group_by: '__proto__', interval: 'week' })).toEqual({ report: 'source_performance', range: '7d', filters: {} });
    expect(viewOf({ from: 'yesterday', to: FROM })).toEqual({ report: 'source_performance', range: 'custom', to: FROM, filters: {} });
    // A preset drops stray from/to (the URL names one range).
    expect(viewOf({ range: '30d', from: FROM })).toEqual({ report: 'source_performance', range: '30d', filters: {} });
  });

  it('asks GET /v1/reports/{name} with the range, filters and grouping; interval only for trends; odd text never throws', () => {
    const now = Date.parse(TO);
    expect(rangeOf(view({ range: '24h' }), now)).toEqual({ from: '2026-12-07T00:00:00.000Z', to: TO });
    expect(rangeOf(view({ range: 'custom', from: FROM }), now)).toEqual({ from: FROM, to: TO });
    const path = reportPath(view({ report: 'rejection_reasons', source: 'stripe', group_by: 'reason', interval: 'hour' }), { from: FROM, to: TO });
    const url = new URL(path, 'http://x');
    expect(url.pathname).toBe('/v1/reports/rejection_reasons');
    expect(Object.fromEntries(url.searchParams)).toEqual({ from: FROM, to: TO, source: 'stripe', group_by: 'reason' });
    expect(new URL(reportPath(view({ report: 'trends', interval: 'hour' }), { from: FROM, to: TO }), 'http://x').searchParams.get('interval')).toBe('hour');
    // A lone surrogate or a 1 MB filter is the API's to refuse (400), not a crash of the page.
    const odd = reportPath(view({ flow_id: 'a\uD800b', entity_id: 'x'.repeat(1_000_000) }), { from: FROM, to: TO });
    expect(new URL(odd, 'http://x').searchParams.get('flow_id')).toBe('a\uFFFDb');
  });

  it('writes CSV cells by the exports\' rule (shared/domain/exports.ts) for every leading character, numbers as numbers', () => {
    for (let c = 0; c < 0x3000; c++) {
      const text = `${String.fromCharCode(c)}SUM(A1)`;
      expect(csvCell(text)).toBe(exportCsvCell(text));
      expect(csvField(text)).toBe(exportCsvField(text));
    }
    const csv = toCsv(body('rejection_reasons', [['reason', 'string'], ['rejections', 'integer'], ['share', 'number']], [
      { reason: '=HYPERLINK("http://evil")', rejections: 2, share: 0.5 },
      { reason: '-2+3', rejections: new RawNumber('9007199254740993'), share: -0.25 },
      { reason: 'line\nbreak, "quoted"', rejections: 1, share: null },
      { reason: '\tTab', rejections: 0 },
    ]));
    expect(csv.split('\r\n')).toEqual([
      'reason,rejections,share',
      `"'=HYPERLINK(""http://evil"")",2,0.5`,
      "'-2+3,9007199254740993,-0.25",
      '"line\nbreak, ""quoted""",1,',
      "'\tTab,0,",
      '',
    ]);
  });

  it('draws one bar per row of the chosen measure, and reads rates and numbers for people', () => {
    const bars = chartOf(sourcePerformance);
    expect(bars).toEqual({ kind: 'bars', measure: 'submitted', bars: [{ row: 0, label: 'stripe', value: 10 }, { row: 1, label: 'web', value: 4 }] });
    const profit = chartOf(sourcePerformance, 'profit');
    expect(profit.kind === 'bars' && profit.bars.map((b) => b.value)).toEqual([-3.5, 12]);
    expect(chartOf(sourcePerformance, 'source')).toMatchObject({ measure: 'submitted' }); // a text column is no measure
    expect(chartOf(body('x', [['source', 'string']], [{ source: 'a' }]))).toMatchObject({ kind: 'none' });
    const rate = { name: 'acceptance_rate', type: 'number' };
    expect(formatCell(rate, 0.25)).toBe('25.0%');
    expect(formatCell(rate, null)).toBe('—');
    expect(formatCell({ name: 'conversion_from_view', type: 'number' }, 1)).toBe('100.0%');
    expect(formatCell({ name: 'revenue', type: 'number' }, '1234.500000')).toBe('1,234.5');
    expect(formatCell({ name: 'avg_duration_ms', type: 'number' }, 820.25)).toBe('820.3 ms');
    expect(formatCell({ name: 'day', type: 'date' }, '2026-12-02')).toBe('2026-12-02');
  });

  it('draws a time series as a line, and trends as outcomes stacked per interval (event types summed)', () => {
    const byDay = body('source_performance', [['day', 'date'], ['submitted', 'integer']], [{ day: '2026-12-03', submitted: 2 }, { day: '2026-12-02', submitted: 7 }]);
    expect(chartOf(byDay)).toMatchObject({ kind: 'lines', points: [{ row: 1, value: 7, label: '2026-12-02' }, { row: 0, value: 2, label: '2026-12-03' }] });
    const stacked = chartOf(trends);
    expect(stacked.kind).toBe('stacked');
    if (stacked.kind !== 'stacked') return;
    expect(stacked.outcomes).toEqual(['success', 'failure', 'none']);
    expect(stacked.columns.map((c) => [c.label, c.total, c.segments.map((s) => [s.outcome, s.value])])).toEqual([
      ['2026-12-01 00:00', 5, [['none', 5]]],
      ['2026-12-02 00:00', 6, [['success', 5], ['failure', 1]]],
    ]);
  });

  it('drills down to the explorer with the report\'s filters, the row\'s group, and an interval narrowed within the range', () => {
    const v = view({ report: 'source_performance', range: 'custom', from: FROM, to: TO, flow_id: 'flow_1', outcome: 'success' });
    const link = (path: string) => Object.fromEntries(new URL(path, 'http://x').searchParams);
    expect(new URL(drillDown(v, sourcePerformance, 0), 'http://x').pathname).toBe('/console/events');
    expect(link(drillDown(v, sourcePerformance, 0))).toEqual({ flow_id: 'flow_1', outcome: 'success', source: 'stripe', from: FROM, to: TO, range: 'custom' });
    const buyers = body('buyer_behaviour', [['entity_id', 'string'], ['accepted', 'integer']], [{ entity_id: 'buyer_9', accepted: 1 }]);
    expect(link(drillDown(v, buyers, 0))).toMatchObject({ entity_id: 'buyer_9' });
    const reasons = body('rejection_reasons', [['reason', 'string'], ['rejections', 'integer']], [{ reason: null, rejections: 1 }, { reason: '(none)', rejections: 1 }]);
    expect(link(drillDown(v, reasons, 0)).reason).toBeUndefined();
    expect(link(drillDown(v, reasons, 1)).reason).toBeUndefined();
    // An hour: exactly that hour. A day that starts before the range: from the range's start.
    const hours = body('step_duration', [['hour', 'timestamp'], ['executions', 'integer']], [{ hour: '2026-12-03T05:00:00.000Z', executions: 1 }]);
    expect(link(drillDown(v, hours, 0))).toMatchObject({ from: '2026-12-03T05:00:00.000Z', to: '2026-12-03T06:00:00.000Z' });
    const late = { ...body('success_rates', [['day', 'date'], ['events', 'integer']], [{ day: '2026-12-01', events: 1 }]), from: '2026-12-01T12:00:00.000Z' };
    expect(link(drillDown(v, late, 0))).toMatchObject({ from: '2026-12-01T12:00:00.000Z', to: '2026-12-02T00:00:00.000Z' });
    // A stacked segment: its interval and outcome, not the event type of the first row it sums.
    const t = view({ report: 'trends', interval: 'day' });
    expect(link(drillDown(t, trends, 2, { outcome: 'failure', only: ['bucket'] }))).toEqual({ from: '2026-12-02T00:00:00.000Z', to: '2026-12-03T00:00:00.000Z', outcome: 'failure', range: 'custom' });
    // A table row of trends is one event type.
    expect(link(drillDown(t, trends, 1))).toMatchObject({ type: 'recipient.delivered', outcome: 'success' });
  });

  it('follows a 202 to its run on this origin, polling (visibly) until it succeeds or fails; never another origin\'s Location', async () => {
    const origin = 'http://127.0.0.1:3000';
    const report = body('lead_funnel', [['leads', 'integer']], [{ leads: 3 }]);
    const script = (answers: Answer[]) => {
      const asked: string[] = [];
      const ask = async (path: string) => {
        asked.push(path);
        const next = answers.shift();
        if (!next) throw new Error(`asked more than answered: ${path}`);
        return next;
      };
      return { asked, ask };
    };
    const waits: number[] = [];
    const running: string[] = [];
    const options = { running: (id: string) => running.push(id), sleep: async (ms: number) => void waits.push(ms), stopped: () => false };
    const direct = script([{ status: 200, location: null, body: report }]);
    expect(await fetchReport(direct.ask, '/v1/reports/lead_funnel', origin, options)).toBe(report);
    const id = 'eyJoIjoiYSJ9.' + 'x'.repeat(43);
    const slow = script([
      { status: 202, location: `/v1/reports/runs/${id}`, body: { id, status: 'running' } },
      { status: 200, location: null, body: { id, status: 'running' } },
      { status: 200, location: null, body: { id, status: 'running' } },
      { status: 200, location: null, body: { id, status: 'succeeded', report } },
    ]);
    expect(await fetchReport(slow.ask, '/v1/reports/lead_funnel', origin, options)).toBe(report);
    expect(slow.asked).toEqual(['/v1/reports/lead_funnel', ...Array(3).fill(`/v1/reports/runs/${id}`)]);
    expect(running).toEqual([id, id, id]);
    expect(waits).toEqual(POLL_MS.slice(0, 3));
    // An absolute Location on this origin is followed; a failed run is an error with the API's words.
    const failed = script([{ status: 202, location: `${origin}/v1/reports/runs/${id}`, body: {} }, { status: 200, location: null, body: { id, status: 'failed', error: 'the report\'s query failed: Out of Memory' } }]);
    const error = await fetchReport(failed.ask, '/v1/reports/trends', origin, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).problem.detail).toContain('Out of Memory');
    // Another origin, another route, or no Location at all: nothing is followed.
    for (const location of ['https://evil.example/v1/reports/runs/x', '/v1/events', '//evil.example/v1/reports/runs/x', '/v1/reports/runs/a/b', null]) {
      const odd = script([{ status: 202, location, body: {} }]);
      await expect(fetchReport(odd.ask, '/v1/reports/trends', origin, options)).rejects.toThrow(/without a run/);
      expect(odd.asked).toHaveLength(1);
    }
    // The view moved on: polling stops.
    const gone = script([{ status: 202, location: `/v1/reports/runs/${id}`, body: {} }]);
    await expect(fetchReport(gone.ask, '/v1/reports/trends', origin, { ...options, stopped: () => true })).rejects.toThrow('stopped');
    expect(gone.asked).toHaveLength(1);
  });

  it('puts about five round ticks on a chart\'s axis, the last at or above the tallest mark', () => {
    expect(axisTicks(11)).toEqual([0, 5, 10, 15]);
    expect(axisTicks(10)).toEqual([0, 2, 4, 6, 8, 10]);
    expect(axisTicks(0)).toEqual([0]);
    expect(axisTicks(Number.NaN)).toEqual([0]);
    for (const max of [0.003, 0.7, 1, 3, 97, 1234567, 9.99e12]) {
      const ticks = axisTicks(max);
      expect(ticks[ticks.length - 1]!).toBeGreaterThanOrEqual(max);
      expect(ticks.length, String(max)).toBeLessThanOrEqual(7);
      expect(ticks.length, String(max)).toBeGreaterThanOrEqual(3);
    }
  });
});
