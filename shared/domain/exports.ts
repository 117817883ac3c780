import * as z from 'zod/mini';
import { archiveColumns, EVENTS_VIEW, sqlLiteral } from '../definitions/archive.js';
import { OUTCOMES, SOURCE_PATTERN } from './event.js';
import { ValidationError } from './errors.js';
import type { EventBus, TypeMatch } from './ports.js';
import { BUS_SOURCE } from '../definitions/event-rules.js';
import { typeParam } from './queries.js';
import { idString, isoParam, parseOrThrow, rangeProblems } from './schema.js';
import { randomUUID } from 'node:crypto';
import { toIso } from './time.js';
import { legacyMaskId, maskId } from './masking.js';

/**
 * Exports (contract section 10): exactly the org's events that match a filter, each once, masked, as CSV, JSONL or
 * Parquet. Their one source is the archive's `events` view (every event, deduplicated, masked as it left
 * DynamoDB), read once the archive has settled past the moment the export was asked for, so a recent event is
 * in it too. A job runs partition by partition (one `dt` day at a time), recording the rows written so far: a
 * run interrupted by a crash resumes at the next day.
 */
export const EXPORT_FORMATS = ['csv', 'jsonl', 'parquet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];
export const EXPORT_EXTENSIONS: Record<ExportFormat, string> = { csv: 'csv', jsonl: 'jsonl', parquet: 'parquet' };

const id255 = idString();

/** What may be filtered on: a time range of occurred_at (required), and the API's filters. */
export const exportFilterSchema = z.strictObject({
  from: isoParam,
  to: isoParam,
  type: z.optional(typeParam),
  source: z.optional(z.string().check(z.regex(SOURCE_PATTERN, 'must match [a-z0-9_]{1,100}'))),
  outcome: z.optional(z.enum(OUTCOMES)),
  lead_id: z.optional(id255),
  flow_id: z.optional(id255),
});

export const exportRequestSchema = z.strictObject({ format: z.enum(EXPORT_FORMATS), filter: exportFilterSchema });

/** A filter, parsed: the half-open range [fromMs, toMs) of occurred_at, and the rest. */
export interface ExportFilter {
  fromMs: number;
  toMs: number;
  types?: TypeMatch[];
  source?: string;
  outcome?: (typeof OUTCOMES)[number];
  leadId?: string;
  flowId?: string;
}

/** With `nowMs`, a `to` more than 5 minutes ahead of it is refused too (the API passes its clock). */
export function parseExportRequest(body: unknown, nowMs?: number): { format: ExportFormat; filter: ExportFilter } {
  const { format, filter } = parseOrThrow(exportRequestSchema, body, { notObjectMessage: 'must be a JSON object: {"format": "csv", "filter": {"from": …, "to": …}}' });
  const problems = rangeProblems(filter.from, filter.to, nowMs, { from: 'filter.from', to: 'filter.to' });
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    format,
    filter: {
      fromMs: filter.from, toMs: filter.to,
      ...(filter.type ? { types: filter.type } : {}), ...(filter.source ? { source: filter.source } : {}),
      ...(filter.outcome ? { outcome: filter.outcome } : {}), ...(filter.lead_id ? { leadId: filter.lead_id } : {}),
      ...(filter.flow_id ? { flowId: filter.flow_id } : {}),
    },
  };
}

/** The columns of every export, in order: the archive's flat columns, then its JSON columns (as the contract says). */
export const EXPORT_COLUMNS = archiveColumns.map((c) => c.name);
export const JSON_COLUMNS = new Set(archiveColumns.filter((c) => c.comment === 'JSON').map((c) => c.name));
export const TIMESTAMP_COLUMNS = new Set(archiveColumns.filter((c) => c.type === 'timestamp').map((c) => c.name));
/** The number-typed columns (duration_ms, amount, price, cost): the engines write a number there, never a sender's text. */
export const NUMERIC_COLUMNS = new Set(archiveColumns.filter((c) => c.type === 'double').map((c) => c.name));

/**
 * CSV injection (contract section 10, OWASP): a spreadsheet runs a cell that begins with one of these as a formula
 * (`=HYPERLINK(…)`, `+cmd|…`, `@SUM(…)`, `-2+3`), so such a cell is written with a leading `'`, which makes it text.
 *
 * The rule is for text cells: every string column, the JSON columns and any text a sender can shape. Number-typed
 * columns are exempt: an engine writes a number there (`-5.0`), which a spreadsheet reads as the number, never as a
 * formula, and a `'` would turn a real amount into text. Every CSV writer applies it with `csvCell` (TypeScript) or
 * `csvCellSql` (DuckDB), in the export engines and `npm run athena -- --format csv`.
 */
export const FORMULA_LEADS = ['=', '+', '-', '@', '\t', '\r'] as const;

/** A text cell as a spreadsheet must read it: prefixed with `'` when it begins like a formula. */
export function csvCell(text: string): string {
  return text.length > 0 && (FORMULA_LEADS as readonly string[]).includes(text[0]!) ? `'${text}` : text;
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled. */
export function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** The same rule for DuckDB's own CSV writer: `expression` (a VARCHAR) as the cell. */
export function csvCellSql(expression: string): string {
  const leads = FORMULA_LEADS.map((c) => `chr(${c.charCodeAt(0)})`).join(', ');
  return `CASE WHEN left(${expression}, 1) IN (${leads}) THEN '''' || ${expression} ELSE ${expression} END`;
}

/**
 * The WHERE clause of an export over the `events` view, with `?` parameters in order: the org, a range of
 * `dt` partitions (so the engine reads only those), the exact occurred_at range, then the filters. Shared by
 * DuckDB and Athena (both take `?` parameters and ISO timestamp literals through CAST).
 */
export function exportWhere(
  orgId: string, filter: ExportFilter, days = dayRange(filter.fromMs, filter.toMs),
  /** Only rows after this (occurred_at, id): a keyset page (a replay reading the archive back). */
  after?: { occurredAt: string; id: string },
): { sql: string; params: (string | number)[] } {
  const clauses = ['org_id = ?', 'dt BETWEEN ? AND ?', 'occurred_at >= CAST(? AS TIMESTAMP)', 'occurred_at < CAST(? AS TIMESTAMP)'];
  const params: (string | number)[] = [orgId, days.from, days.to, sqlTimestamp(filter.fromMs), sqlTimestamp(filter.toMs)];
  if (filter.types?.length) {
    const alternatives = filter.types.map((t) => ('equals' in t ? 'event_type = ?' : 'starts_with(event_type, ?)'));
    clauses.push(`(${alternatives.join(' OR ')})`);
    params.push(...filter.types.map((t) => ('equals' in t ? t.equals : t.prefix)));
  }
  for (const [column, value] of [['source', filter.source], ['outcome', filter.outcome]] as const) {
    if (value !== undefined) {
      clauses.push(`${column} = ?`);
      params.push(value);
    }
  }
  // Ids are archived masked (maskId; rows written before the pseudonym key carry legacyMaskId's form): matched by both.
  for (const [column, id] of [['lead_id', filter.leadId], ['flow_id', filter.flowId]] as const) {
    if (id === undefined) continue;
    const forms = [...new Set([maskId(id), legacyMaskId(id)])];
    clauses.push(forms.length === 1 ? `${column} = ?` : `${column} IN (${forms.map(() => '?').join(', ')})`);
    params.push(...forms);
  }
  if (after) {
    const at = sqlTimestamp(Date.parse(after.occurredAt));
    clauses.push('(occurred_at > CAST(? AS TIMESTAMP) OR (occurred_at = CAST(? AS TIMESTAMP) AND id > ?))');
    params.push(at, at, after.id);
  }
  return { sql: `FROM ${EVENTS_VIEW} WHERE ${clauses.join(' AND ')}`, params };
}

/** The `dt` days (UTC dates, inclusive) that hold occurred_at in [fromMs, toMs). */
export function dayRange(fromMs: number, toMs: number): { from: string; to: string } {
  return { from: toIso(fromMs).slice(0, 10), to: toIso(toMs - 1).slice(0, 10) };
}

/** The same clause with each `?` written as its literal (Athena statements here carry no parameters). */
export function inlineParameters({ sql, params }: { sql: string; params: (string | number)[] }): string {
  let i = 0;
  return sql.replace(/\?/g, () => {
    const value = params[i++]!;
    return typeof value === 'number' ? String(value) : sqlLiteral(value);
  });
}

/** A timestamp column as ISO 8601 UTC text (`2026-11-23T14:30:45.123Z`), in each engine's dialect. */
export function isoTimestamp(column: string, engine: 'duckdb' | 'athena'): string {
  return engine === 'duckdb' ? `strftime(${column}, '%Y-%m-%dT%H:%M:%S.%gZ')` : `format_datetime(${column}, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''')`;
}

/** A select list of these columns with the timestamp columns as ISO 8601 UTC text. */
export function selectWithIsoTimestamps(columns: readonly string[], engine: 'duckdb' | 'athena'): string {
  return columns.map((name) => (TIMESTAMP_COLUMNS.has(name) ? `${isoTimestamp(name, engine)} AS ${name}` : name)).join(', ');
}

/** `2026-11-23 14:30:45.123`: a timestamp literal both engines read as UTC. */
function sqlTimestamp(ms: number): string {
  return toIso(ms).replace('T', ' ').replace('Z', '');
}

/** `erased`: the file held rows of a lead since erased (section 9): it is deleted and no URL is given any more. */
export type ExportStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'erased';

/** A job's stored state is `erased`: final; a step still running for it stops and removes what it wrote. */
export class ExportErasedError extends Error {
  constructor(readonly jobId: string) {
    super(`export ${jobId} was erased`);
  }
}

/** One export job (no PII: the filter holds ids and types, the counts are numbers). */
export interface ExportJob {
  orgId: string;
  id: string;
  format: ExportFormat;
  filter: ExportFilter;
  status: ExportStatus;
  requestedAt: string;
  /** The archive is read once it has settled past this moment (the archive's buffer and the stream's lag). */
  settleUntil: string;
  /** The `dt` days holding matching rows, found at the start of the run, in order; and how many are written. */
  days?: string[];
  daysDone: number;
  rows: number;
  bytes: number;
  completedAt?: string;
  error?: string;
  /** A schedule's run: the schedule (section 10's Export Ready names it). */
  scheduleId?: string;
  /** The file is whole (set before the job is announced and called succeeded: a rerun does not join the parts again). */
  fileReady?: boolean;
  /** The erasure that deleted the file (status `erased`). */
  erasureId?: string;
}

/** `Export Ready` on the bus, for a schedule's run: at least once (a retried announcement may repeat). */
export const EXPORT_READY_DETAIL_TYPE = 'Export Ready';

/** The archive side of an export: DuckDB over the local files, Athena in AWS. */
export interface ExportEngine {
  /** The days (`dt`) within the filter's range that hold any of the org's rows. */
  days(job: ExportJob): Promise<string[]>;
  /** Writes one day's matching rows as a part of the job's file; idempotent (a rerun rewrites the part). */
  writeDay(job: ExportJob, day: string): Promise<{ rows: number }>;
  /** Joins the parts into the one file the job's URL serves; returns its size. */
  finish(job: ExportJob): Promise<{ bytes: number }>;
  /**
   * Whether the job's file holds (or, still running, may come to hold) a row of one of these leads: the job's own
   * query over the archive, narrowed to them. Asked by an erasure before it rewrites the archive, so the rows are
   * still there; an event of the leads that arrived after the export ran counts too (the answer errs toward erasing).
   * `eventIds`: events on other leads that name one of them (leadlog's records after an unmerge, refusals) count too.
   */
  holdsLeads(job: ExportJob, leadIds: readonly string[], eventIds?: readonly string[]): Promise<boolean>;
  /** Deletes whatever the job wrote: its parts and its file; idempotent. */
  discard(job: ExportJob): Promise<void>;
}

export interface ExportJobStore {
  /**
   * Saves the job; one that is queued or running is also marked running (the local runner finds it after a restart).
   * A job stored as `erased` is final: saving it in any other status throws ExportErasedError.
   */
  save(job: ExportJob): Promise<void>;
  get(orgId: string, id: string): Promise<ExportJob | undefined>;
  /** Every job of the org whose record is kept (a week): what an erasure looks through. */
  list(orgId: string): Promise<ExportJob[]>;
  /** Every job still queued or running, in every org. */
  running(): Promise<{ orgId: string; id: string }[]>;
}

/** Starts running a job (Step Functions in AWS; locally the runner finds it by its running mark); idempotent. */
export interface ExportScheduler {
  start(job: ExportJob): Promise<void>;
}

/** Where a finished export is downloaded: a presigned S3 URL in AWS, a signed local URL on a laptop; valid an hour. */
export interface ExportLinks {
  /** `origin`: the API's own origin as the caller reached it (the local file server is on it). */
  urlFor(job: ExportJob, nowMs: number, origin: string): Promise<{ url: string; expiresAt: string }>;
}

/** How long a download URL is valid. */
export const EXPORT_URL_SECONDS = 3600;

/** POST /v1/exports: validates, stores the job (queued until the archive has settled) and starts it. */
export async function requestExport(
  ports: { store: ExportJobStore; scheduler: ExportScheduler },
  request: { orgId: string; body: unknown; nowMs: number; settleMs: number; scheduleId?: string },
): Promise<ExportJob> {
  const { format, filter } = parseExportRequest(request.body, request.nowMs);
  const job: ExportJob = {
    orgId: request.orgId, id: `ex_${randomUUID().replace(/-/g, '')}`, format, filter, status: 'queued',
    requestedAt: toIso(request.nowMs), settleUntil: toIso(request.nowMs + request.settleMs), daysDone: 0, rows: 0, bytes: 0,
    ...(request.scheduleId ? { scheduleId: request.scheduleId } : {}),
  };
  await ports.store.save(job);
  await ports.scheduler.start(job);
  return job;
}

/** GET /v1/exports/{id}: the job as the API shows it, with its download URL once it succeeded. */
export async function presentExport(job: ExportJob, links: ExportLinks, nowMs: number, origin: string) {
  // Only a succeeded job has a file: an erased one answers `erased` and never a URL again.
  const link = job.status === 'succeeded' ? await links.urlFor(job, nowMs, origin) : undefined;
  return {
    id: job.id,
    status: job.status,
    format: job.format,
    rows: job.rows,
    bytes: job.bytes,
    ...(job.days ? { progress: { parts_done: job.daysDone, parts: job.days.length } } : {}),
    requested_at: job.requestedAt,
    ...(job.completedAt ? { completed_at: job.completedAt } : {}),
    ...(link ? { url: link.url, url_expires_at: link.expiresAt } : {}),
    ...(job.error ? { error: job.error } : {}),
    ...(job.scheduleId ? { schedule_id: job.scheduleId } : {}),
  };
}

/** One step of a job, as far as it goes now: wait for the archive to settle, or write days until done. */
export async function runExport(
  ports: { store: ExportJobStore; engine: ExportEngine; nowMs: () => number; onProgress?: (job: ExportJob) => void; announce?: (job: ExportJob) => Promise<void> },
  orgId: string, id: string,
  /** Past this moment no new day is started: the step returns `waitMs: 0` to be called again (a Lambda's time limit). */
  deadlineMs = Number.POSITIVE_INFINITY,
): Promise<{ waitMs: number } | { done: ExportJob }> {
  const job = await ports.store.get(orgId, id);
  if (!job) throw new Error(`export ${id} of ${orgId} not found`);
  if (job.status === 'succeeded' || job.status === 'failed' || job.status === 'erased') return { done: job };
  try {
    return await exportSteps(ports, job, deadlineMs);
  } catch (error) {
    // An erasure marked the job while this step ran: what the step wrote since (a part, the file) goes too.
    if (!(error instanceof ExportErasedError)) throw error;
    await ports.engine.discard(job);
    return { done: { ...job, status: 'erased' } };
  }
}

async function exportSteps(
  ports: Parameters<typeof runExport>[0], job: ExportJob, deadlineMs: number,
): Promise<{ waitMs: number } | { done: ExportJob }> {
  const wait = Date.parse(job.settleUntil) - ports.nowMs();
  if (wait > 0) return { waitMs: wait };
  try {
    if (job.status === 'queued' || job.days === undefined) {
      job.status = 'running';
      job.days = await ports.engine.days(job);
      await ports.store.save(job);
    }
    while (job.daysDone < job.days.length) {
      if (ports.nowMs() > deadlineMs) return { waitMs: 0 };
      const { rows } = await ports.engine.writeDay(job, job.days[job.daysDone]!);
      job.rows += rows;
      job.daysDone += 1;
      await ports.store.save(job);
      ports.onProgress?.(job);
    }
    if (!job.fileReady) {
      job.bytes = (await ports.engine.finish(job)).bytes;
      job.fileReady = true;
      await ports.store.save(job);
    }
  } catch (error) {
    if (error instanceof ExportErasedError) throw error;
    job.status = 'failed';
    job.error = `the export could not be written: ${(error as Error).message.slice(0, 300)}`;
    job.completedAt = toIso(ports.nowMs());
    await ports.store.save(job);
    return { done: job };
  }
  // A schedule's run is announced before it is called succeeded: a failed announcement is retried with the step.
  if (job.scheduleId) await ports.announce?.(job);
  job.status = 'succeeded';
  job.completedAt = toIso(ports.nowMs());
  await ports.store.save(job);
  return { done: job };
}

/** The bus entry of `Export Ready` {org_id, export_id, schedule_id, rows}. */
export function exportReadyDetail(job: ExportJob) {
  return { org_id: job.orgId, export_id: job.id, schedule_id: job.scheduleId!, rows: job.rows, format: job.format };
}

/** Puts `Export Ready` for a schedule's run on the bus; throws when the bus refuses it (the step is retried). */
export function announceExportReady(bus: EventBus): (job: ExportJob) => Promise<void> {
  return async (job) => {
    const failed = await bus.putEvents([{ Source: BUS_SOURCE, DetailType: EXPORT_READY_DETAIL_TYPE, Detail: JSON.stringify(exportReadyDetail(job)), Time: new Date() }]);
    if (failed.length > 0) throw new Error('the bus refused Export Ready; the step runs again');
  };
}
