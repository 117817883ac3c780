import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { ValidationError } from './errors.js';
import { chunkEntries, toBusEntry } from './fanout.js';
import { dayPartitions } from './shards.js';
import type { MaskOptions } from './masking.js';
import type { EventBus, EventStore, PagePosition, TypeMatch } from './ports.js';
import type { LeadEvent } from './event.js';
import { typeParam } from './queries.js';
import { idString, isoParam, parseOrThrow, rangeProblems } from './schema.js';
import { SOURCE_PATTERN } from './event.js';
import { DAY_MS, RETENTION_MS, toIso, utcDays } from './time.js';

/**
 * Replays (contract section 10): the org's stored events in a range, filtered, put on the bus again exactly as
 * first published (the same masked detail) plus `detail.replay_id`. They reach EventBridge only, never the table's
 * stream: the windowed alert rules (counted from the stream) and the archive (fed by the stream) never see them,
 * and the bus archive's pattern excludes them. The part of the range older than the hot store (90 days, less a
 * day of margin for the TTL) is read from the archive (each event once, as archived: masked), the rest from
 * DynamoDB.
 *
 * Pace: at most REPLAY_EVENTS_PER_SECOND a replay (EventBridge's PutEvents quota is shared with live traffic:
 * 10,000 entries/s in the largest regions, 2,400 in others; a replay takes at most a few percent of it).
 *
 * Crash safety: before each chunk (≤ 10 entries) is published, the job records it as pending; after, as
 * emitted. A run that finds a pending chunk (the process died in between) cannot know whether EventBridge took
 * it, and EventBridge has no idempotency key: it skips the chunk and counts it as `skipped`, so no event is
 * emitted twice within a replay, and matched = emitted + skipped says exactly what happened.
 */
export const REPLAY_EVENTS_PER_SECOND = 100;
const PAGE = 100;

export const replayRequestSchema = z.strictObject({
  from: isoParam,
  to: isoParam,
  type: z.optional(typeParam),
  source: z.optional(z.string().check(z.regex(SOURCE_PATTERN, 'must match [a-z0-9_]{1,100}'))),
  lead_id: z.optional(idString()),
  dry_run: z.optional(z.boolean()),
});

export interface ReplayFilter {
  fromMs: number;
  toMs: number;
  types?: TypeMatch[];
  source?: string;
  leadId?: string;
}

export interface ReplayJob {
  orgId: string;
  id: string;
  filter: ReplayFilter;
  status: 'running' | 'completed';
  matched: number;
  emitted: number;
  skipped: number;
  /** The part of the range being read: the archive first (what is older than the hot store), then DynamoDB. */
  phase?: 'archive' | 'hot';
  /** Where the next page starts (after the last event taken): in DynamoDB, or in the archive. */
  position?: PagePosition;
  archivePosition?: ArchivePosition;
  /** Events of the page being published that are already emitted or skipped (a page is published chunk by chunk). */
  done: number;
  /** A chunk recorded before its publish: found on a resume, it is skipped. */
  pending?: number;
  requestedAt: string;
  completedAt?: string;
}

export interface ReplayStore {
  save(job: ReplayJob): Promise<void>;
  get(orgId: string, id: string): Promise<ReplayJob | undefined>;
  running(): Promise<{ orgId: string; id: string }[]>;
}

/** Archived events, for the part of a replay older than the hot store (DuckDB locally, Athena in AWS). */
export interface ArchivedEvents {
  /** Events of the org matching the filter in [fromMs, toMs), in (occurred_at, id) order, after `after`. */
  page(orgId: string, filter: ReplayFilter, after: ArchivePosition | undefined, limit: number): Promise<{ events: LeadEvent[]; next?: ArchivePosition }>;
  /** `signal`: the request's deadline; once it fires the count stops (the engine's query cancelled where it can be). */
  count(orgId: string, filter: ReplayFilter, signal?: AbortSignal): Promise<number>;
}

export interface ArchivePosition {
  occurredAt: string;
  id: string;
}

/** Where the hot store starts for a replay: a day inside its 90 days, so no event is read while its TTL removes it. */
export function hotFrom(nowMs: number): number {
  return nowMs - RETENTION_MS + DAY_MS;
}

/** The part of a filter's range in the archive, and the part in DynamoDB (either may be empty). */
export function splitRange(filter: ReplayFilter, nowMs: number): { archived?: ReplayFilter; hot?: ReplayFilter } {
  const boundary = hotFrom(nowMs);
  return {
    ...(filter.fromMs < boundary ? { archived: { ...filter, toMs: Math.min(filter.toMs, boundary) } } : {}),
    ...(filter.toMs > boundary ? { hot: { ...filter, fromMs: Math.max(filter.fromMs, boundary) } } : {}),
  };
}

export interface ReplayScheduler {
  start(job: ReplayJob): Promise<void>;
}

export function parseReplayRequest(body: unknown, nowMs: number): { filter: ReplayFilter; dryRun: boolean } {
  const input = parseOrThrow(replayRequestSchema, body, { notObjectMessage: 'must be a JSON object: {"from": …, "to": …}' });
  const problems = rangeProblems(input.from, input.to, nowMs, { from: 'from', to: 'to' });
  if (problems.length > 0) throw new ValidationError(problems);
  return {
    dryRun: input.dry_run ?? false,
    filter: {
      fromMs: input.from, toMs: input.to, ...(input.type ? { types: input.type } : {}),
      ...(input.source ? { source: input.source } : {}), ...(input.lead_id ? { leadId: input.lead_id } : {}),
    },
  };
}

async function page(store: EventStore, orgId: string, filter: ReplayFilter, after: PagePosition | undefined, nowMs: number, limit = PAGE, signal?: AbortSignal) {
  const plan = await store.shardPlan(orgId, nowMs);
  return store.query({
    index: 'by_day', partitions: utcDays(filter.fromMs, filter.toMs).map((day) => dayPartitions(orgId, day, plan)),
    fromMs: filter.fromMs, toMs: filter.toMs, order: 'asc', limit,
    filters: { ...(filter.types ? { eventTypes: filter.types } : {}), ...(filter.source ? { source: filter.source } : {}), ...(filter.leadId ? { leadId: filter.leadId } : {}) },
    include: { leadSnapshot: false, rawPayload: false }, ...(after ? { after } : {}), nowMs, ...(signal ? { signal } : {}),
  });
}

/**
 * How many events match: in the archive for the part older than the hot store, in DynamoDB for the rest. `signal` is
 * the request's deadline: once it fires, no further page or archive query is started (its reason is thrown).
 */
export async function countMatches(
  store: EventStore, archive: ArchivedEvents | undefined, orgId: string, filter: ReplayFilter, nowMs: number, signal?: AbortSignal,
): Promise<number> {
  const { archived, hot } = splitRange(filter, nowMs);
  const inArchive = archived && archive ? await archive.count(orgId, archived, signal) : 0;
  signal?.throwIfAborted();
  return inArchive + (hot ? await countHot(store, orgId, hot, nowMs, signal) : 0);
}

async function countHot(store: EventStore, orgId: string, filter: ReplayFilter, nowMs: number, signal?: AbortSignal): Promise<number> {
  let matched = 0;
  let after: PagePosition | undefined;
  do {
    signal?.throwIfAborted();
    const result = await page(store, orgId, filter, after, nowMs, 1000, signal);
    matched += result.items.length;
    after = result.next;
  } while (after);
  return matched;
}

/** POST /v1/replays: a dry run answers the count; a run is stored and started. */
export async function requestReplay(
  ports: { events: EventStore; archive?: ArchivedEvents | undefined; replays: ReplayStore; scheduler: ReplayScheduler },
  request: { orgId: string; body: unknown; nowMs: number; signal?: AbortSignal | undefined },
): Promise<{ dryRun: true; matched: number } | { dryRun: false; job: ReplayJob }> {
  const { filter, dryRun } = parseReplayRequest(request.body, request.nowMs);
  const matched = await countMatches(ports.events, ports.archive, request.orgId, filter, request.nowMs, request.signal);
  if (dryRun) return { dryRun: true, matched };
  const job: ReplayJob = {
    orgId: request.orgId, id: `rp_${randomUUID().replace(/-/g, '')}`, filter, status: 'running', matched, emitted: 0, skipped: 0, done: 0,
    requestedAt: toIso(request.nowMs),
  };
  await ports.replays.save(job);
  await ports.scheduler.start(job);
  return { dryRun: false, job };
}

export function presentReplay(job: ReplayJob) {
  return {
    id: job.id, status: job.status, matched: job.matched, emitted: job.emitted, skipped: job.skipped,
    requested_at: job.requestedAt, ...(job.completedAt ? { completed_at: job.completedAt } : {}),
  };
}

/**
 * One step of a replay: pages of events, each published chunk by chunk at the replay's pace, the job saved around
 * every chunk. Stops (to be called again) past `deadlineMs`.
 */
export async function runReplay(
  ports: {
    events: EventStore; archive?: ArchivedEvents | undefined; replays: ReplayStore; bus: EventBus; maskOptions: (orgId: string) => Promise<MaskOptions>;
    nowMs: () => number; sleep?: (ms: number) => Promise<void>;
  },
  orgId: string, id: string, deadlineMs = Number.POSITIVE_INFINITY,
): Promise<{ waitMs: number } | { done: ReplayJob }> {
  const job = await ports.replays.get(orgId, id);
  if (!job) throw new Error(`replay ${id} of ${orgId} not found`);
  if (job.status === 'completed') return { done: job };
  const sleep = ports.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const mask = await ports.maskOptions(orgId);
  // The split is fixed by the job's request time, so a resumed job reads the same parts.
  const parts = splitRange(job.filter, Date.parse(job.requestedAt));
  job.phase ??= parts.archived && ports.archive ? 'archive' : 'hot';
  for (;;) {
    if (ports.nowMs() > deadlineMs) return { waitMs: 0 };
    let events: LeadEvent[];
    let advance: () => boolean; // moves the job past this page; false when its part is done
    if (job.phase === 'archive') {
      const result = await ports.archive!.page(orgId, parts.archived!, job.archivePosition, PAGE);
      events = result.events;
      advance = () => (result.next ? ((job.archivePosition = result.next), true) : false);
    } else if (parts.hot) {
      const result = await page(ports.events, orgId, parts.hot, job.position, ports.nowMs());
      events = result.items;
      advance = () => (result.next ? ((job.position = result.next), true) : false);
    } else {
      events = [];
      advance = () => false;
    }
    const entries = events.map((event) => {
      const entry = toBusEntry(event, mask);
      return { ...entry, Detail: `${entry.Detail.slice(0, -1)},"replay_id":${JSON.stringify(job.id)}}` };
    });
    let offset = 0;
    for (const chunk of chunkEntries(entries)) {
      const start = offset;
      offset += chunk.length;
      if (start < job.done) continue; // published (or skipped) before a restart
      if (job.pending === start) {
        job.skipped += chunk.length; // recorded, then the process died: EventBridge may or may not have it
      } else {
        job.pending = start;
        await ports.replays.save(job);
        const started = ports.nowMs();
        // Entries the bus reports failed were not taken: they are sent again (3 tries), the rest never twice.
        let unsent = chunk;
        for (let attempt = 0; attempt < 3 && unsent.length > 0; attempt++) {
          const failed = new Set(await ports.bus.putEvents(unsent));
          unsent = unsent.filter((_, i) => failed.has(i));
        }
        job.emitted += chunk.length - unsent.length;
        job.skipped += unsent.length;
        const pace = (chunk.length * 1000) / REPLAY_EVENTS_PER_SECOND - (ports.nowMs() - started);
        if (pace > 0) await sleep(pace);
      }
      job.pending = undefined;
      job.done = offset;
      await ports.replays.save(job);
    }
    job.done = 0;
    if (!advance()) {
      if (job.phase === 'archive' && parts.hot) {
        job.phase = 'hot';
      } else {
        job.status = 'completed';
        job.completedAt = toIso(ports.nowMs());
        await ports.replays.save(job);
        return { done: job };
      }
    }
    await ports.replays.save(job);
  }
}
