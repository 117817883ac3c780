/**
 * Reports (contract section 13): `GET /v1/reports/{name}` and its runs. The request is parsed here, the report's SQL
 * (queries/<name>.sql, the same text Athena's named query holds) gets its group expression from a fixed whitelist and
 * its filters as bound parameters, a ReportEngine runs it over the archive's `events` view (each event once), and the
 * rows are typed by the report's columns. A run that outlasts the request's time is answered 202 with a run id: the
 * engine's handle, the org and the request signed together (HMAC with the deployment's cursor secret), so a tampered
 * id or another org's is a 404.
 */
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod/mini';
import {
  GROUP_BYS, GROUP_COLUMN_TYPES, INTERVALS, REPORTS, reportDefinition, type GroupBy, type Interval, type ReportColumnType, type ReportDefinition, type ReportName,
} from '../definitions/reports.js';
import { SOURCE_PATTERN, OUTCOMES } from './event.js';
import { NotFoundError, ValidationError, type FieldError } from './errors.js';
import { legacyMaskId, maskId } from './masking.js';
import type { ReportEngine, ReportQuery, ReportRunState } from './ports.js';
import { MAX_PAGE_BYTES, typeParam } from './queries.js';
import { idString, isoParam, parseOrThrow, rangeProblems } from './schema.js';
import { DAY_MS, toIso } from './time.js';
import type { TypeMatch } from './ports.js';
import type { Cursors } from './cursor.js';

/** Without `from`/`to`: the last 30 days up to now. */
export const DEFAULT_REPORT_RANGE_MS = 30 * DAY_MS;

export interface ReportFilters {
  types?: TypeMatch[];
  source?: string;
  outcome?: string;
  flowId?: string;
  entityId?: string;
}

export interface ReportRequest {
  name: ReportName;
  fromMs: number;
  toMs: number;
  /** undefined: the report's own grouping (none for lead_funnel; the interval for trends). */
  groupBy?: GroupBy;
  interval?: Interval;
  filters: ReportFilters;
}

export interface ReportBody {
  name: ReportName;
  from: string;
  to: string;
  columns: { name: string; type: ReportColumnType }[];
  rows: Record<string, string | number | null>[];
  generated_at: string;
}

/** The query parameters of `GET /v1/reports/{name}` (group_by and interval are checked against the report after). */
export const reportParamsSchema = z.strictObject({
  from: z.optional(isoParam),
  to: z.optional(isoParam),
  flow_id: z.optional(idString()),
  entity_id: z.optional(idString()),
  source: z.optional(z.string().check(z.regex(SOURCE_PATTERN, 'must match [a-z0-9_]{1,100}'))),
  outcome: z.optional(z.enum(OUTCOMES)),
  type: z.optional(typeParam),
  group_by: z.optional(z.string()),
  interval: z.optional(z.string()),
});

/** The report named, or 404 (an unknown report is a resource that does not exist, not a bad parameter). */
export function reportNamed(name: string): ReportDefinition {
  const definition = reportDefinition(name);
  if (!definition) throw new NotFoundError(`no report '${name.slice(0, 100)}' (reports: ${REPORTS.map((r) => r.name).join(', ')})`);
  return definition;
}

/** Parses a report's query string: every bad field named at once (400); an unknown report is 404. */
export function parseReportRequest(name: string, params: Record<string, string | undefined>, nowMs: number): ReportRequest {
  const definition = reportNamed(name);
  const clean: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) clean[key] = value;
  const errors: FieldError[] = [];
  let parsed: z.infer<typeof reportParamsSchema> = {};
  try {
    parsed = parseOrThrow(reportParamsSchema, clean, { unknownKeyMessage: 'is not a known query parameter' });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    errors.push(...(error.errors ?? []));
  }
  const groupBy = clean.group_by;
  if (groupBy !== undefined && !(definition.groupBy as readonly string[]).includes(groupBy)) {
    errors.push({
      path: 'group_by',
      message: definition.groupBy.length === 0
        ? `${definition.name} takes no group_by (it groups by interval, event type and outcome)`
        : `must be one of ${definition.groupBy.join(', ')} for ${definition.name}`,
    });
  }
  const interval = clean.interval;
  if (interval !== undefined && !(definition.intervals as readonly string[] | undefined)?.includes(interval)) {
    errors.push({ path: 'interval', message: definition.intervals ? `must be one of ${definition.intervals.join(', ')}` : `only trends takes an interval` });
  }
  const toMs = parsed.to ?? nowMs;
  const fromMs = parsed.from ?? toMs - DEFAULT_REPORT_RANGE_MS;
  if (!errors.some((e) => e.path === 'from' || e.path === 'to')) errors.push(...rangeProblems(fromMs, toMs, nowMs, { from: 'from', to: 'to' }));
  if (errors.length > 0) throw new ValidationError(errors);
  return {
    name: definition.name, fromMs, toMs,
    ...(groupBy !== undefined ? { groupBy: groupBy as GroupBy } : definition.defaultGroup ? { groupBy: definition.defaultGroup } : {}),
    ...(definition.intervals ? { interval: (interval ?? 'day') as Interval } : {}),
    filters: {
      ...(parsed.type ? { types: parsed.type } : {}), ...(parsed.source ? { source: parsed.source } : {}), ...(parsed.outcome ? { outcome: parsed.outcome } : {}),
      ...(parsed.flow_id !== undefined ? { flowId: parsed.flow_id } : {}), ...(parsed.entity_id !== undefined ? { entityId: parsed.entity_id } : {}),
    },
  };
}

/**
 * A group value that is never PII, as SQL both engines evaluate alike (RE2 in DuckDB, Java regex in Trino; only
 * anchors, classes and quantifiers common to both). The archive holds ids masked (`a***@x.io~<12 hex>`: maskId's
 * e-mail mask and keyed digest); a group keeps no digest (that would be one group per person) and an e-mail becomes
 * `@` + its domain, a phone (`+1415*******`, maskPhone's form) its country and area code. DuckDB's regexp_extract
 * answers '' where Trino answers NULL for no match: NULLIF makes both NULL.
 */
export function piiSafeGroup(column: string): string {
  const plain = `regexp_replace(${column}, '~[0-9a-f]{12}$', '')`;
  return `COALESCE('@' || NULLIF(regexp_extract(${plain}, '^[^@]*@([^@]+)$', 1), ''), NULLIF(regexp_extract(${plain}, '^(\\+?[0-9]+)\\*+$', 1), ''), ${plain})`;
}

/** The whitelist: each group_by value's SQL expression (never the caller's text). */
export function groupExpression(group: GroupBy): string {
  switch (group) {
    case 'source': case 'event_type': case 'outcome': return group; // [a-z0-9_.] values: never PII
    case 'entity_id': case 'flow_id': case 'step_id': case 'reason': return piiSafeGroup(group);
    case 'hour': return "date_trunc('hour', occurred_at)";
    case 'day': return 'dt';
  }
}

const INTERVAL_EXPRESSIONS: Record<Interval, string> = { hour: "date_trunc('hour', occurred_at)", day: "date_trunc('day', occurred_at)" };

/** The group column of an answer: its name and type, or none (lead_funnel ungrouped). */
function groupColumn(definition: ReportDefinition, request: Pick<ReportRequest, 'groupBy' | 'interval'>): { name: string; type: ReportColumnType; sql: string } | undefined {
  if (definition.intervals) return { name: 'bucket', type: 'timestamp', sql: INTERVAL_EXPRESSIONS[request.interval ?? 'day'] };
  if (!request.groupBy) return undefined;
  return { name: request.groupBy, type: GROUP_COLUMN_TYPES[request.groupBy], sql: groupExpression(request.groupBy) };
}

/** The answer's columns, in order: the group column (when there is one), then the report's. */
export function reportColumns(definition: ReportDefinition, request: Pick<ReportRequest, 'groupBy' | 'interval'>): { name: string; type: ReportColumnType }[] {
  const group = groupColumn(definition, request);
  const rest = definition.columns.filter((c) => !(definition.intervals && c.name === 'bucket')).map(({ name, type }) => ({ name, type }));
  return [...(group ? [{ name: group.name, type: group.type }] : []), ...rest];
}

const GROUP_KEY = /^( {2}SELECT )(.+?)( AS group_key)\b/m;
const GROUP_COLUMN = /\/\* group column \*\/( group_key AS \w+,)?/;
const FILTERS = '/* report filters */';

/** `2026-11-23 14:30:45.123`: a timestamp both engines read as UTC. */
const sqlTimestamp = (ms: number) => toIso(ms).replace('T', ' ').replace('Z', '');

/**
 * The report's SQL for this request: the template's group expression replaced by the whitelist's, the group column
 * named after the group_by value (or dropped), and the filters added at the marker, each value a `?` bound in order.
 * Parameters: org, first and last `dt` (partition pruning in Athena, file pruning in DuckDB), the occurred_at
 * bounds (from inclusive, to exclusive), then the filters.
 */
export function buildReportSql(template: string, request: ReportRequest, orgId: string): ReportQuery {
  const definition = reportNamed(request.name);
  const count = (pattern: RegExp | string) => (typeof pattern === 'string' ? template.split(pattern).length - 1 : (template.match(new RegExp(pattern, 'gm')) ?? []).length);
  if (count(GROUP_KEY) !== 1 || count(GROUP_COLUMN) !== 1 || count(FILTERS) !== 1) throw new Error(`queries/${request.name}.sql lacks its markers (AS group_key, group column, report filters)`);
  const group = groupColumn(definition, request);
  const clauses = ['occurred_at >= CAST(? AS TIMESTAMP)', 'occurred_at < CAST(? AS TIMESTAMP)'];
  const params: string[] = [orgId, toIso(request.fromMs).slice(0, 10), toIso(request.toMs - 1).slice(0, 10), sqlTimestamp(request.fromMs), sqlTimestamp(request.toMs)];
  const { types, source, outcome, flowId, entityId } = request.filters;
  if (types?.length) {
    clauses.push(`(${types.map((t) => ('equals' in t ? 'event_type = ?' : 'starts_with(event_type, ?)')).join(' OR ')})`);
    params.push(...types.map((t) => ('equals' in t ? t.equals : t.prefix)));
  }
  if (source !== undefined) {
    clauses.push('source = ?');
    params.push(source);
  }
  if (outcome !== undefined) {
    clauses.push('outcome = ?');
    params.push(outcome);
  }
  // Ids are archived masked (maskId; rows written before the pseudonym key carry legacyMaskId's form): matched by both.
  for (const [column, id] of [['flow_id', flowId], ['entity_id', entityId]] as const) {
    if (id === undefined) continue;
    const forms = [...new Set([maskId(id), legacyMaskId(id)])];
    clauses.push(`${column} IN (${forms.map(() => '?').join(', ')})`);
    params.push(...forms);
  }
  const sql = template
    .replace(GROUP_KEY, (_m, select: string, _expr: string, as: string) => `${select}${group?.sql ?? "'all'"}${as}`)
    .replace(GROUP_COLUMN, group ? `/* group column */ group_key AS ${group.name},` : '/* group column */')
    .replace(FILTERS, `AND ${clauses.join(' AND ')}`);
  const placeholders = (sql.replace(/--[^\n]*/g, '').replace(/'(?:[^']|'')*'/g, "''").match(/\?/g) ?? []).length; // outside comments and string literals (a regex holds `?`)
  if (placeholders !== params.length) throw new Error(`report ${request.name}: ${placeholders} placeholders for ${params.length} values`);
  return { sql, params };
}

/** An engine's row typed by the report's columns: counts and numbers as JSON numbers, timestamps as ISO 8601 UTC. */
export function typedRow(columns: readonly { name: string; type: ReportColumnType }[], row: Record<string, unknown>): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  for (const { name, type } of columns) {
    const value = row[name];
    if (value === null || value === undefined || value === '') {
      out[name] = null;
    } else if (type === 'integer' || type === 'number') {
      const n = Number(value);
      out[name] = Number.isFinite(n) ? n : null;
    } else if (type === 'timestamp') {
      const text = String(value);
      const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text.replace(' ', 'T')}Z`);
      out[name] = Number.isFinite(ms) ? toIso(ms) : text;
    } else {
      out[name] = String(value);
    }
  }
  return out;
}

export interface ReportPorts {
  engine: ReportEngine;
  /** queries/<name>.sql */
  sql: (name: ReportName) => string;
  cursors: Cursors;
}

/** What a run id carries (signed): the engine's handle, and the request's shape to type its rows by. */
interface RunClaims {
  h: string;
  n: ReportName;
  f: number;
  t: number;
  g?: GroupBy;
  i?: Interval;
}

const RUN_PURPOSE = 'report-run-v1';
const MAX_RUN_ID_LENGTH = 1_000;

async function runId(cursors: Cursors, orgId: string, claims: RunClaims): Promise<string> {
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const mac = (await cursors.mac(RUN_PURPOSE, `${orgId}\u0000${body}`)).toString('base64url');
  return `${body}.${mac}`;
}

/** The claims of a run id made for this org, or a 404 (tampered, another org's, or not a run id at all). */
async function openRunId(cursors: Cursors, orgId: string, id: string): Promise<RunClaims> {
  const notFound = () => new NotFoundError('no such report run');
  const match = id.length <= MAX_RUN_ID_LENGTH ? /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{43})$/.exec(id) : null;
  if (!match) throw notFound();
  const expected = await cursors.mac(RUN_PURPOSE, `${orgId}\u0000${match[1]}`);
  const given = Buffer.from(match[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw notFound();
  const claims = JSON.parse(Buffer.from(match[1]!, 'base64url').toString('utf8')) as RunClaims; // signed by us: well-formed
  return claims;
}

/**
 * The most rows an answer holds; engines stop reading one past it (AthenaReportEngine). With MAX_PAGE_BYTES (4 MB of
 * the 6 MB a synchronous Lambda may answer, as pages keep) it bounds every answer: a larger report is refused with
 * what to narrow, never cut short in silence and never left to fail as Lambda's 5xx.
 */
export const MAX_REPORT_ROWS = 100_000;

/** A report too large to answer, as a client mistake (400 on the report route; the run's error on its run). */
function tooLarge(rows: number, bytes: number): ValidationError {
  const size = rows > MAX_REPORT_ROWS ? `more than ${MAX_REPORT_ROWS} rows` : `${rows} rows, ${Math.ceil(bytes / 1_048_576)} MB`;
  return new ValidationError([{ path: 'from', message: `the report is too large to answer (${size}; at most ${MAX_PAGE_BYTES / 1_048_576} MB): narrow from/to, add a filter, or group by day` }]);
}

function bodyOf(claims: RunClaims, rows: Record<string, unknown>[], nowMs: number): ReportBody {
  const definition = reportNamed(claims.n);
  const columns = reportColumns(definition, { ...(claims.g ? { groupBy: claims.g } : {}), ...(claims.i ? { interval: claims.i } : {}) });
  if (rows.length > MAX_REPORT_ROWS) throw tooLarge(rows.length, 0);
  const body: ReportBody = { name: claims.n, from: toIso(claims.f), to: toIso(claims.t), columns, rows: rows.map((row) => typedRow(columns, row)), generated_at: toIso(nowMs) };
  const bytes = Buffer.byteLength(JSON.stringify(body));
  if (bytes > MAX_PAGE_BYTES) throw tooLarge(rows.length, bytes);
  return body;
}

/** A failure as the run answers it: the engine's message without what might name data (kept short). */
const failureOf = (state: Extract<ReportRunState, { status: 'failed' }>) => `the report's query failed: ${state.error.slice(0, 300)}`;

/**
 * Runs a report: 200 with its body when the engine finishes within `signal` (the request's report budget, below its
 * deadline), else the run id to answer 202 with. A run that fails within the budget is an error of ours (5xx).
 */
export async function runReport(
  ports: ReportPorts, orgId: string, name: string, params: Record<string, string | undefined>, nowMs: () => number, signal: AbortSignal,
): Promise<{ status: 200; body: ReportBody } | { status: 202; id: string }> {
  const request = parseReportRequest(name, params, nowMs());
  const query = buildReportSql(ports.sql(request.name), request, orgId);
  const handle = await ports.engine.start(query);
  const claims: RunClaims = { h: handle, n: request.name, f: request.fromMs, t: request.toMs, ...(request.groupBy ? { g: request.groupBy } : {}), ...(request.interval ? { i: request.interval } : {}) };
  let state: ReportRunState;
  try {
    state = await ports.engine.wait(handle, signal);
  } catch (error) {
    if (!signal.aborted) throw error;
    return { status: 202, id: await runId(ports.cursors, orgId, claims) };
  }
  if (state.status === 'succeeded') return { status: 200, body: bodyOf(claims, state.rows, nowMs()) };
  if (state.status === 'failed') throw new Error(failureOf(state));
  return { status: 202, id: await runId(ports.cursors, orgId, claims) };
}

export interface ReportRun {
  id: string;
  status: 'running' | 'succeeded' | 'failed';
  report?: ReportBody;
  error?: string;
}

/** `GET /v1/reports/runs/{id}`: the run of this org, 404 for any other id. */
export async function reportRun(ports: ReportPorts, orgId: string, id: string, nowMs: number): Promise<ReportRun> {
  const claims = await openRunId(ports.cursors, orgId, id);
  const state = await ports.engine.state(claims.h);
  if (!state) throw new NotFoundError('no such report run (a run is kept for an hour)');
  if (state.status === 'running') return { id, status: 'running' };
  if (state.status === 'failed') return { id, status: 'failed', error: failureOf(state) };
  try {
    return { id, status: 'succeeded', report: bodyOf(claims, state.rows, nowMs) };
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    return { id, status: 'failed', error: error.errors?.[0]?.message ?? error.message };
  }
}

export { GROUP_BYS, INTERVALS };
