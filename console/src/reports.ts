import { INTERVALS, REPORT_NAMES, reportDefinition, type GroupBy, type ReportName } from '../../shared/definitions/reports.js';
import { ApiError, qs } from './api.js';
import { RawNumber } from './json.js';

/**
 * The Reports page's pure parts (contract section 13): the view as the URL holds it, the API path it asks, the
 * table and chart read from the answer's `columns` (whatever the report), the CSV of the table, and the explorer
 * link a bar or row drills down to. No DOM here: test/unit/console-reports.test.ts runs it in Node.
 */
// The reports, their groupings and intervals: the API's own definitions (plain data, no imports), bundled as they are.
export { GROUP_BYS, INTERVALS, REPORT_NAMES, reportDefinition, type GroupBy, type ReportName } from '../../shared/definitions/reports.js';

/** The `group_by` values a report accepts (the first is its default); trends takes none, but an interval. */
export function groupsOf(report: ReportName): readonly GroupBy[] {
  return reportDefinition(report)?.groupBy ?? [];
}
export function intervalsOf(report: ReportName): readonly (typeof INTERVALS)[number][] {
  return reportDefinition(report)?.intervals ?? [];
}
export const OUTCOMES = ['success', 'failure', 'error', 'skip'] as const;

/** What the page says about each report; the columns and numbers come from the API. */
export const REPORT_TITLES: Record<ReportName, { title: string; about: string }> = {
  source_performance: { title: 'Source performance', about: 'Submitted, acceptance and delivery rates, costs, revenue and profit per source.' },
  buyer_behaviour: { title: 'Buyer behaviour', about: 'Per buyer (entity): deliveries accepted and rejected, response time, revenue per lead.' },
  rejection_reasons: { title: 'Rejection reasons', about: 'Rejected sources, failed filters and failed deliveries by reason.' },
  step_duration: { title: 'Step duration', about: 'Executions, average and maximum duration of each step.' },
  success_rates: { title: 'Success rates', about: 'The share of each outcome within each event type.' },
  lead_funnel: { title: 'Lead funnel', about: 'Leads that viewed a product, then asked about one, then purchased.' },
  revenue_by_source: { title: 'Revenue by source', about: 'Completed purchases and their revenue per source and currency.' },
  trends: { title: 'Trends', about: 'Events per interval by outcome (and event type).' },
};

/** Time presets of the Reports page: reports read the archive too, so they reach further back than the explorer. */
export const REPORT_RANGES = {
  '24h': { label: 'Last 24 hours', ms: 86_400_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000 },
  '30d': { label: 'Last 30 days', ms: 30 * 86_400_000 },
  '90d': { label: 'Last 90 days', ms: 90 * 86_400_000 },
  '365d': { label: 'Last year', ms: 365 * 86_400_000 },
} as const;
export type ReportRange = keyof typeof REPORT_RANGES;
const DEFAULT_RANGE: ReportRange = '7d';

/** The filters section 13 names, in the order the page shows them. */
export const FILTERS = ['type', 'source', 'flow_id', 'entity_id', 'outcome'] as const;
export type Filter = (typeof FILTERS)[number];

/** Everything a Reports view is, as its URL holds it (never the key). */
export interface ReportView {
  report: ReportName;
  /** A preset relative to now, or 'custom' with from/to (ISO, UTC). */
  range: ReportRange | 'custom';
  from?: string;
  to?: string;
  filters: Partial<Record<Filter, string>>;
  group_by?: GroupBy;
  interval?: (typeof INTERVALS)[number];
  /** The numeric column the chart draws (default: the report's first). */
  measure?: string;
}

const own = <T extends string>(list: readonly T[], value: string | undefined): T | undefined =>
  value !== undefined && (list as readonly string[]).includes(value) ? (value as T) : undefined;

function isoOrUndefined(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** The view a URL's query names; anything unknown falls back to the default rather than breaking the page. */
export function viewOf(query: Record<string, string | undefined>): ReportView {
  const range = query.range === 'custom' || (query.range === undefined && (query.from || query.to)) ? 'custom'
    : query.range !== undefined && Object.hasOwn(REPORT_RANGES, query.range) ? (query.range as ReportRange) : DEFAULT_RANGE;
  const filters: Partial<Record<Filter, string>> = {};
  for (const name of FILTERS) {
    const value = query[name]?.trim();
    if (value) filters[name] = value;
  }
  const from = range === 'custom' ? isoOrUndefined(query.from) : undefined;
  const to = range === 'custom' ? isoOrUndefined(query.to) : undefined;
  const report = own(REPORT_NAMES, query.report) ?? 'source_performance';
  // Only what this report accepts: a grouping or interval carried over from another report is dropped, not a 400.
  const groupBy = own(groupsOf(report), query.group_by);
  const interval = own(intervalsOf(report), query.interval);
  return {
    report,
    range,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    filters,
    ...(groupBy ? { group_by: groupBy } : {}),
    ...(interval ? { interval } : {}),
    ...(query.measure ? { measure: query.measure } : {}),
  };
}

/** The URL query of a view: `viewOf(urlQuery(v))` is `v`. */
export function urlQuery(view: ReportView): Record<string, string | undefined> {
  return {
    report: view.report, range: view.range, from: view.range === 'custom' ? view.from : undefined, to: view.range === 'custom' ? view.to : undefined,
    ...view.filters, group_by: view.group_by, interval: view.interval, measure: view.measure,
  };
}

/** The range a view asks for: a preset ends now; a custom range with one end open is closed by now / a preset's length. */
export function rangeOf(view: ReportView, nowMs: number): { from: string; to: string } {
  if (view.range !== 'custom') return { from: new Date(nowMs - REPORT_RANGES[view.range].ms).toISOString(), to: new Date(nowMs).toISOString() };
  const to = view.to ?? new Date(nowMs).toISOString();
  const from = view.from ?? new Date(Date.parse(to) - REPORT_RANGES[DEFAULT_RANGE].ms).toISOString();
  return { from, to };
}

/** `GET /v1/reports/{name}` with the view's range, filters and grouping (the API checks each; a refusal is shown). */
export function reportPath(view: ReportView, range: { from: string; to: string }): string {
  return `/v1/reports/${view.report}${qs({
    ...range, ...view.filters, group_by: view.group_by, interval: view.interval,
  })}`;
}

// ── The answer ──────────────────────────────────────────────────────────────────────────────────────────

export interface ReportColumn {
  name: string;
  type: string;
}
/** The 200 body of `GET /v1/reports/{name}` (and a succeeded run's `report`). Rows are objects or arrays in column order. */
export interface ReportBody {
  name: string;
  from: string;
  to: string;
  columns: ReportColumn[];
  rows: unknown[];
  generated_at: string;
}
/** `GET /v1/reports/runs/{id}`. */
export interface ReportRun {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  report?: ReportBody;
  error?: string | { title?: string; detail?: string };
}

/** A row's cell of `column` (the `index`-th): rows may be objects keyed by column name or arrays in column order. */
export function cellOf(row: unknown, column: ReportColumn, index: number): unknown {
  if (Array.isArray(row)) return row[index];
  if (row !== null && typeof row === 'object' && Object.hasOwn(row, column.name)) return (row as Record<string, unknown>)[column.name];
  return undefined;
}

/** The rows as a grid of cells, in column order. */
export function gridOf(body: ReportBody): unknown[][] {
  return body.rows.map((row) => body.columns.map((column, i) => cellOf(row, column, i)));
}

export function numberOf(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (value instanceof RawNumber) return Number(value.source);
  if (typeof value === 'string' && value.trim() !== '' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

const NUMERIC_TYPE = /int|number|numeric|double|decimal|float|real|rate|fraction|ms|duration|amount|count/i;
const TIME_TYPE = /timestamp|date|time/i;
/** Columns that hold a time bucket (an `hour`/`day` grouping, `trends`' interval). */
const TIME_NAMES = new Set(['hour', 'day', 'interval', 'bucket', 'period', 'period_start', 'interval_start', 'bucket_start', 'time', 'at']);

export function isTimeColumn(column: ReportColumn): boolean {
  return (TIME_TYPE.test(column.type) && !/duration/i.test(column.type)) || (TIME_NAMES.has(column.name) && !NUMERIC_TYPE.test(column.type));
}
export function isNumericColumn(column: ReportColumn): boolean {
  return !isTimeColumn(column) && NUMERIC_TYPE.test(column.type);
}

/** The numeric columns a chart can draw. */
export function measuresOf(body: ReportBody): string[] {
  return body.columns.filter(isNumericColumn).map((c) => c.name);
}

/** Columns the API sends as 0–1 fractions (contract section 13), shown as percentages. */
const RATE_NAME = /rate$|share$|fraction|conversion/i;

/** How a cell reads in the table (the API's numbers are unrounded; the console rounds, the CSV does not). */
export function formatCell(column: ReportColumn, value: unknown): string {
  if (value === null || value === undefined) return '—';
  if (value instanceof RawNumber) return value.source;
  const n = typeof value === 'number' ? value : isNumericColumn(column) ? numberOf(value) : undefined;
  if (n !== undefined) {
    if (RATE_NAME.test(column.name)) return `${(n * 100).toFixed(n !== 0 && Math.abs(n) < 0.001 ? 3 : 1)}%`;
    if (/_ms$|duration/i.test(column.name)) return `${n.toLocaleString('en-US', { maximumFractionDigits: 1 })} ms`;
    return n.toLocaleString('en-US', { maximumFractionDigits: Number.isInteger(n) ? 0 : 2 });
  }
  if (typeof value === 'string' && isTimeColumn(column)) {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return column.type === 'date' ? new Date(ms).toISOString().slice(0, 10) : new Date(ms).toISOString().replace('T', ' ').slice(0, 16);
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

// ── Asking, and following a 202's run ────────────────────────────────────────────────────────────────────

/** How long a 202's run is polled between answers: quick at first, then every few seconds. */
export const POLL_MS = [500, 1000, 1000, 2000, 2000, 3000];
const RUN_PATH = /^\/v1\/reports\/runs\/[^/?#]+$/;

export interface Answer {
  status: number;
  location: string | null;
  body: unknown;
}

/**
 * A report's body: asked once, and when the API answers 202, its run followed (`GET /v1/reports/runs/{id}`) until it
 * succeeds or fails. Only a run of this API is followed: the same origin's runs route, whatever `Location` says.
 * `running` hears the run's id while it runs; `stopped` ends the polling (the view moved on): it then rejects.
 */
export async function fetchReport(
  ask: (path: string) => Promise<Answer>, path: string, origin: string,
  options: { running: (id: string) => void; sleep: (ms: number) => Promise<void>; stopped: () => boolean },
): Promise<ReportBody> {
  const first = await ask(path);
  if (first.status !== 202) return first.body as ReportBody;
  const run = first.location ? new URL(first.location, origin) : undefined;
  if (!run || run.origin !== origin || !RUN_PATH.test(run.pathname)) {
    throw new ApiError(first.status, { title: 'Report still running', detail: 'The API answered 202 without a run of its own to follow.' });
  }
  const id = decodeURIComponent(run.pathname.slice(run.pathname.lastIndexOf('/') + 1));
  for (let n = 0; ; n++) {
    options.running(id);
    await options.sleep(POLL_MS[Math.min(n, POLL_MS.length - 1)]!);
    if (options.stopped()) throw new Error('stopped');
    const body = (await ask(run.pathname)).body as ReportRun;
    if (body.status === 'succeeded' && body.report) return body.report;
    if (body.status === 'failed') {
      const error = typeof body.error === 'string' ? { detail: body.error } : { detail: body.error?.detail, title: body.error?.title };
      throw new ApiError(500, { title: error.title ?? 'The report failed', detail: error.detail ?? 'The report\'s query failed.' });
    }
  }
}

// ── CSV ─────────────────────────────────────────────────────────────────────────────────────────────────

/**
 * The rule of the exports' CSV (contract section 10, `csvCell`/`csvField` in shared/domain/exports.ts, which the
 * browser bundle cannot import: that module needs Node): a text cell beginning with `=`, `+`, `-`, `@`, a tab or a
 * carriage return is prefixed with `'` so a spreadsheet never runs it; numbers are written as numbers (a `'` would
 * turn -3.5 into text). test/unit/console-reports.test.ts checks both rules agree on every leading character.
 */
const FORMULA_LEADS = ['=', '+', '-', '@', '\t', '\r'];
export function csvCell(text: string): string {
  return text.length > 0 && FORMULA_LEADS.includes(text[0]!) ? `'${text}` : text;
}
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The table as CSV: a header of column names, then each row; numbers unrounded as the API sent them. */
export function toCsv(body: ReportBody): string {
  const line = (cells: string[]) => cells.map(csvField).join(',');
  const value = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'number' || v instanceof RawNumber) return String(v);
    if (typeof v === 'boolean') return String(v);
    return csvCell(typeof v === 'string' ? v : JSON.stringify(v));
  };
  return [line(body.columns.map((c) => csvCell(c.name))), ...gridOf(body).map((cells) => line(cells.map(value)))].join('\r\n') + '\r\n';
}

export function csvFileName(body: ReportBody): string {
  const day = (iso: string) => iso.slice(0, 10);
  return `${body.name}_${day(body.from)}_${day(body.to)}.csv`.replace(/[^A-Za-z0-9_.-]/g, '_');
}

// ── Charts ──────────────────────────────────────────────────────────────────────────────────────────────

export interface Bar {
  row: number;
  label: string;
  value: number;
}
export interface Segment {
  row: number;
  outcome: string;
  value: number;
}
export interface Column {
  t: number;
  label: string;
  rows: number[];
  segments: Segment[];
  total: number;
}
export type Chart =
  | { kind: 'bars'; measure: string; bars: Bar[] }
  | { kind: 'lines'; measure: string; points: (Bar & { t: number })[] }
  | { kind: 'stacked'; measure: string; columns: Column[]; outcomes: string[]; timeColumn: string }
  | { kind: 'none'; reason: string };

/** The outcomes of a stack in a fixed order; events without an outcome stack last as "none". */
export const STACK_ORDER = [...OUTCOMES, 'none'];

function labelOf(body: ReportBody, cells: unknown[], skip: Set<string>): string {
  const parts = body.columns.flatMap((c, i) => (!isNumericColumn(c) && !skip.has(c.name) ? [formatCell(c, cells[i])] : []));
  return parts.length ? parts.join(' · ') : body.name;
}

/**
 * The chart of an answer: stacked outcomes over time for `trends` (or any answer with a time column and an
 * `outcome` column), a line when the rows are a time series, else one bar per row. `measure` picks the numeric
 * column (an unknown one falls back to the first).
 */
export function chartOf(body: ReportBody, measure?: string): Chart {
  const measures = measuresOf(body);
  if (measures.length === 0) return { kind: 'none', reason: 'This report has no numeric column to draw.' };
  const m = measure && measures.includes(measure) ? measure : measures[0]!;
  const mi = body.columns.findIndex((c) => c.name === m);
  const grid = gridOf(body);
  const ti = body.columns.findIndex(isTimeColumn);
  const oi = body.columns.findIndex((c) => c.name === 'outcome');
  if (ti >= 0) {
    const times = grid.map((cells) => Date.parse(String(cells[ti] ?? '')));
    if (times.every((t) => !Number.isNaN(t))) {
      if (oi >= 0) {
        const byTime = new Map<number, Column>();
        grid.forEach((cells, row) => {
          const t = times[row]!;
          const column = byTime.get(t) ?? { t, label: formatCell(body.columns[ti]!, cells[ti]), rows: [], segments: [], total: 0 };
          byTime.set(t, column);
          const outcome = typeof cells[oi] === 'string' && cells[oi] !== '' ? (cells[oi] as string) : 'none';
          const value = numberOf(cells[mi]) ?? 0;
          column.rows.push(row);
          const same = column.segments.find((s) => s.outcome === outcome);
          // Several rows of one outcome in one interval (one per event type): one segment, their sum; drill-down
          // from it keeps the outcome and the interval.
          if (same) same.value += value;
          else column.segments.push({ row, outcome, value });
          column.total += value;
        });
        const columns = [...byTime.values()].sort((a, b) => a.t - b.t);
        const rank = (o: string) => (STACK_ORDER.includes(o) ? STACK_ORDER.indexOf(o) : STACK_ORDER.length);
        columns.forEach((c) => c.segments.sort((a, b) => rank(a.outcome) - rank(b.outcome) || a.outcome.localeCompare(b.outcome)));
        const outcomes = [...new Set(columns.flatMap((c) => c.segments.map((s) => s.outcome)))].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
        return { kind: 'stacked', measure: m, columns, outcomes, timeColumn: body.columns[ti]!.name };
      }
      const skip = new Set([body.columns[ti]!.name]);
      const series = new Set(grid.map((cells) => labelOf(body, cells, skip)));
      if (series.size <= 1) {
        const points = grid.map((cells, row) => ({ row, t: times[row]!, label: formatCell(body.columns[ti]!, cells[ti]), value: numberOf(cells[mi]) ?? 0 }));
        return { kind: 'lines', measure: m, points: points.sort((a, b) => a.t - b.t) };
      }
    }
  }
  return { kind: 'bars', measure: m, bars: grid.map((cells, row) => ({ row, label: labelOf(body, cells, new Set()), value: numberOf(cells[mi]) ?? 0 })) };
}

/** About five round ticks from 0, the last at or above `max` (so the tallest mark stays inside the axis). */
export function axisTicks(max: number): number[] {
  if (!(max > 0)) return [0];
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? magnitude * 10;
  const ticks = [0];
  while (ticks[ticks.length - 1]! < max) ticks.push(ticks.length * nice);
  return ticks;
}

// ── Drill-down ──────────────────────────────────────────────────────────────────────────────────────────

/** A report column whose value is an explorer filter of the same meaning. */
const DRILL_COLUMNS: Record<string, string> = {
  source: 'source', flow_id: 'flow_id', entity_id: 'entity_id', buyer: 'entity_id', step_id: 'step_id', event_type: 'type', outcome: 'outcome', reason: 'reason',
};
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/**
 * The event explorer's URL for a row (or a stacked segment: `outcome`, and `only` its time column): the report's range and filters, then
 * each grouping column of the row as the explorer filter of the same meaning, and a time bucket narrowed to its
 * interval (within the report's range). Values that stand for "no value" (`(none)`, empty) add no filter.
 */
export function drillDown(view: ReportView, body: ReportBody, row: number, extra: { outcome?: string; only?: string[] } = {}): string {
  const cells = body.columns.map((c, i) => cellOf(body.rows[row], c, i));
  const query: Record<string, string | undefined> = { ...view.filters, from: body.from, to: body.to };
  body.columns.forEach((column, i) => {
    // A stacked segment sums several rows (one per event type): only its interval and outcome describe it.
    if (extra.only && !extra.only.includes(column.name)) return;
    const value = cells[i];
    if (isTimeColumn(column) && typeof value === 'string' && !Number.isNaN(Date.parse(value))) {
      const start = Date.parse(value);
      const width = column.name === 'hour' || view.interval === 'hour' || (view.group_by === 'hour' && column.name !== 'day') ? HOUR_MS : DAY_MS;
      const from = Math.max(start, Date.parse(body.from));
      const to = Math.min(start + width, Date.parse(body.to));
      if (from < to) Object.assign(query, { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
      return;
    }
    const filter = DRILL_COLUMNS[column.name];
    if (filter && typeof value === 'string' && value !== '' && value !== '(none)' && !isNumericColumn(column)) query[filter] = value;
  });
  if (extra.outcome && extra.outcome !== 'none') query.outcome = extra.outcome;
  return `/console/events${qs({ ...query, range: 'custom' })}`;
}
