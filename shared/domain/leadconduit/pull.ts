import { mapWithConcurrency } from '../concurrency.js';
import { LeadConduitRefusedError, ServiceUnavailableError } from '../errors.js';
import type { LeadConduitApi, LeadConduitPageQuery, LeadConduitPullRecord, LeadConduitPullStore } from '../ports.js';

/**
 * The pull of contract section 12: pages LeadConduit's `GET /events` (sort=asc, after_id) into the LeadConduit ingest,
 * per org, resumable.
 *
 * Invariants:
 * - The position (the highest LeadConduit id stored) moves only after every event of a page was handed to the ingest
 *   and answered (created, duplicate or invalid): an interruption at any point loses nothing; the page is read again.
 * - Ids are only roughly ordered by time (LeadConduit's ids are BSON ObjectIds: seconds, then per-process bytes, so
 *   one written late can sort before one already served). Each run therefore starts `OVERLAP_MS` before the time in
 *   the position's id (`start`), not at the id itself; what it reads again is a duplicate to the ingest (idempotent on
 *   LeadConduit's id), so an event that appeared late with an earlier id is still stored.
 * - One run per org at a time: the org's lease, extended with every page; a run that no longer holds it stops.
 */

/** LeadConduit's `limit` maximum (its OpenAPI document: 1..1000). */
export const PULL_PAGE_LIMIT = 1000;
/** A page goes to the ingest in chunks of this many (what POST /v1/integrations/leadconduit/events takes at once). */
export const PULL_INGEST_CHUNK = 100;
/** How far before the position's time each run reads again (section 12: at least 10 minutes). */
export const PULL_OVERLAP_MS = 10 * 60_000;
/** A first pull with neither a position nor --since starts this far back: LeadConduit keeps events 90 days. */
export const PULL_FIRST_LOOKBACK_MS = 90 * 86_400_000;
/** LeadConduit's ids: 24 hex digits (components.schemas.ID). */
export const LEADCONDUIT_ID_PATTERN = /^[0-9a-fA-F]{24}$/;

/** The creation time (epoch ms, whole seconds) in a LeadConduit id: a BSON ObjectId starts with its seconds. */
export const leadConduitIdTimeMs = (id: string): number => parseInt(id.slice(0, 8), 16) * 1000;

/** What the ingest answered for one object (shared/domain/leadconduit/ingest.ts); `error`: not stored, our own fault. */
export interface PullItemResult {
  status: 'created' | 'duplicate' | 'invalid' | 'error';
  fault?: unknown;
}

/** What the status route shows of the last run (GET /v1/integrations/leadconduit/status, `pull`). */
export interface PullRun {
  after_id?: string;
  last_run_at: string;
  last_error: string | null;
}

export interface PullPorts {
  api: LeadConduitApi;
  store: LeadConduitPullStore;
  /** The org's LeadConduit ingest, with `via: 'pull'`. */
  ingest(orgId: string, objects: unknown[], nowMs: number): Promise<PullItemResult[]>;
  recordRun(orgId: string, run: PullRun): Promise<void>;
  now(): number;
}

export interface PullOptions {
  orgId: string;
  /** This run's name in the lease (a uuid). */
  owner: string;
  /** Explicit start (epoch ms): overrides the kept position for this run (--since). */
  sinceMs?: number;
  /** Explicit position: read after this id for this run (--after-id). */
  afterId?: string;
  /** How long the lease is taken (and extended by each page) for. */
  leaseMs: number;
  /** Start no page at or after this time (epoch ms): the scheduled run's budget. */
  stopAtMs?: number;
  pageLimit?: number;
  signal?: AbortSignal;
  onPage?(progress: PullProgress): void;
}

export interface PullCounts {
  pages: number;
  created: number;
  duplicate: number;
  invalid: number;
}

export interface PullProgress extends PullCounts {
  /** Where this run started reading (epoch ms), and the time of the last id read: how much of the span is covered. */
  fromMs: number;
  coveredToMs: number;
  afterId?: string;
}

export type PullOutcome = PullCounts & {
  /**
   * done: read up to LeadConduit's newest event; paused: stopped at the budget (the next run continues); busy:
   * another run holds the org's lease; failed: stopped by `error` (the position is where the last stored page left it).
   */
  status: 'done' | 'paused' | 'busy' | 'failed';
  afterId?: string;
  fromMs: number;
  error?: unknown;
};

/** Where a run starts: an explicit id or time, else the overlap window before the kept position, else the first lookback. */
export function pullStart(record: LeadConduitPullRecord | undefined, options: Pick<PullOptions, 'sinceMs' | 'afterId'>, nowMs: number): { query: Omit<LeadConduitPageQuery, 'limit' | 'sort'>; fromMs: number } {
  if (options.afterId !== undefined) return { query: { after_id: options.afterId.toLowerCase() }, fromMs: leadConduitIdTimeMs(options.afterId) };
  // The kept id's time is at most now: an id stamped by a clock running ahead would otherwise move the window past
  // events with earlier ids written after it, and they would never be read.
  const fromMs = options.sinceMs ?? (record?.afterId ? Math.min(leadConduitIdTimeMs(record.afterId), nowMs) - PULL_OVERLAP_MS : nowMs - PULL_FIRST_LOOKBACK_MS);
  return { query: { start: new Date(fromMs).toISOString() }, fromMs };
}

const maxId = (ids: string[]): string | undefined => ids.reduce<string | undefined>((max, id) => (max === undefined || id > max ? id : max), undefined);

/** The valid LeadConduit ids of a page, lower-cased (hex compares as the ids order). */
const idsOf = (page: unknown[]): string[] => page.flatMap((object) => {
  const id = object !== null && typeof object === 'object' ? (object as { id?: unknown }).id : undefined;
  return typeof id === 'string' && LEADCONDUIT_ID_PATTERN.test(id) ? [id.toLowerCase()] : [];
});

const describe = (error: unknown): string => (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);

/** One org's pull: pages from where it starts to LeadConduit's newest event, or until the budget, an error or an abort. */
export async function pullLeadConduit(ports: PullPorts, options: PullOptions): Promise<PullOutcome> {
  const { orgId, owner, leaseMs } = options;
  const limit = options.pageLimit ?? PULL_PAGE_LIMIT;
  const counts: PullCounts = { pages: 0, created: 0, duplicate: 0, invalid: 0 };
  const startedMs = ports.now();
  if (!(await ports.store.lease(orgId, owner, startedMs + leaseMs, startedMs))) return { status: 'busy', ...counts, fromMs: startedMs };
  const record = await ports.store.get(orgId).catch(async (error: unknown) => {
    await ports.store.release(orgId, owner, new Date(ports.now()).toISOString());
    throw error;
  });
  const { query: first, fromMs } = pullStart(record, options, startedMs);
  let position = record?.afterId;
  let query: LeadConduitPageQuery = { ...first, limit, sort: 'asc' };
  let status: PullOutcome['status'] = 'done';
  let failure: unknown;
  try {
    for (;;) {
      options.signal?.throwIfAborted();
      if (options.stopAtMs !== undefined && ports.now() >= options.stopAtMs) {
        status = 'paused';
        break;
      }
      const page = await ports.api.page(query, options.signal);
      for (let at = 0; at < page.length; at += PULL_INGEST_CHUNK) {
        options.signal?.throwIfAborted();
        const results = await ports.ingest(orgId, page.slice(at, at + PULL_INGEST_CHUNK), ports.now());
        for (const result of results) if (result.status !== 'error') counts[result.status]++;
        // An item leadlog could not store (a dependency down): the position stays before this page, the next run reads it again.
        const faults = results.filter((result) => result.status === 'error');
        if (faults.length > 0) {
          throw new ServiceUnavailableError(`${faults.length} event(s) of a page could not be stored just now (${describe(faults[0]!.fault)}); the next run reads that page again`);
        }
      }
      counts.pages++;
      const last = maxId(idsOf(page));
      if (last !== undefined && (position === undefined || last > position)) {
        if (!(await ports.store.advance(orgId, owner, last, ports.now() + leaseMs))) {
          throw new Error(`the pull of org ${orgId} lost its lease (it ran past ${Math.round(leaseMs / 1000)} s); the next run continues from ${position ?? 'the start'}`);
        }
        position = last;
      }
      options.onPage?.({ ...counts, fromMs, coveredToMs: last !== undefined ? leadConduitIdTimeMs(last) : fromMs, ...(position ? { afterId: position } : {}) });
      if (page.length < limit) break;
      // A full page without one usable id cannot be paged past: stop rather than read it forever.
      if (last === undefined) throw new Error(`LeadConduit sent a full page of ${page.length} objects without one valid id; the pull cannot page past it`);
      query = { ...query, after_id: last };
    }
  } catch (error) {
    status = 'failed';
    failure = error;
  }
  const endedAt = new Date(ports.now()).toISOString();
  try {
    await ports.recordRun(orgId, { ...(position ? { after_id: position } : {}), last_run_at: endedAt, last_error: failure === undefined ? null : describe(failure) });
  } finally {
    await ports.store.release(orgId, owner, endedAt);
  }
  return { status, ...counts, fromMs, ...(position ? { afterId: position } : {}), ...(failure !== undefined ? { error: failure } : {}) };
}

export interface ScheduledPullPorts extends Omit<PullPorts, 'api'> {
  /** The org's LeadConduit API with its stored key (Secrets Manager in AWS); rejects when the key cannot be read. */
  apiFor(orgId: string): Promise<LeadConduitApi>;
}

export type ScheduledPullResult = { orgId: string } & (PullOutcome | { status: 'skipped' });

/**
 * The scheduled puller's run (functions/leadconduitPull.ts): every org that stored an API key, the longest-waiting
 * first, `concurrency` at a time, none started after `stopAtMs`; an org left over or paused continues next run. One
 * org's failure (a refused key, LeadConduit down) is recorded for its status and never stops the others.
 */
export async function pullScheduledOrgs(
  ports: ScheduledPullPorts,
  options: { owner: string; leaseMs: number; stopAtMs: number; concurrency: number; pageLimit?: number; signal?: AbortSignal },
): Promise<ScheduledPullResult[]> {
  const records = (await ports.store.scheduled()).sort((a, b) => (a.lastRunAt ?? '').localeCompare(b.lastRunAt ?? ''));
  return mapWithConcurrency(records, options.concurrency, async ({ orgId }): Promise<ScheduledPullResult> => {
    if (ports.now() >= options.stopAtMs || options.signal?.aborted) return { orgId, status: 'skipped' };
    let api: LeadConduitApi;
    try {
      api = await ports.apiFor(orgId);
    } catch (error) {
      await ports.recordRun(orgId, { last_run_at: new Date(ports.now()).toISOString(), last_error: describe(error) });
      return { orgId, status: 'failed', pages: 0, created: 0, duplicate: 0, invalid: 0, fromMs: ports.now(), error };
    }
    const outcome = await pullLeadConduit({ ...ports, api }, {
      orgId, owner: options.owner, leaseMs: options.leaseMs, stopAtMs: options.stopAtMs,
      ...(options.pageLimit ? { pageLimit: options.pageLimit } : {}), ...(options.signal ? { signal: options.signal } : {}),
    });
    return { orgId, ...outcome };
  });
}

/** Whether a pull stopped because LeadConduit refused the key (the CLI's one line and exit 1). */
export const refusedKey = (outcome: PullOutcome): boolean => outcome.error instanceof LeadConduitRefusedError;
