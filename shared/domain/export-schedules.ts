import { randomUUID } from 'node:crypto';
import * as z from 'zod/mini';
import { NotFoundError } from './errors.js';
import { EXPORT_FORMATS, exportFilterSchema, requestExport, type ExportFormat, type ExportJob, type ExportJobStore, type ExportScheduler } from './exports.js';
import { parseOrThrow } from './schema.js';
import { DAY_MS, toIso } from './time.js';

/**
 * Scheduled exports (section 10): daily or weekly, each run an export of the period just ended (the UTC day, or
 * the ISO week Monday to Monday) with the schedule's format and filter. A clock calls `runDueSchedules`:
 * EventBridge Scheduler in AWS, the local runtime's timer on a laptop, a fake clock in tests. A run is claimed by
 * moving the schedule's next run forward with a conditional write, so two clocks never start it twice.
 */
export const SCHEDULE_EVERY = ['day', 'week'] as const;
export type ScheduleEvery = (typeof SCHEDULE_EVERY)[number];

export const exportScheduleSchema = z.strictObject({
  name: z.string().check(z.trim(), z.minLength(1), z.maxLength(100)),
  every: z.enum(SCHEDULE_EVERY),
  format: z.enum(EXPORT_FORMATS),
  filter: z.optional(z.omit(exportFilterSchema, { from: true, to: true })),
});

export interface ExportSchedule {
  orgId: string;
  id: string;
  name: string;
  every: ScheduleEvery;
  format: ExportFormat;
  /** The filter as given (without from/to), re-parsed for each run. */
  filter: Record<string, unknown>;
  createdAt: string;
  /** The next period boundary: a run then covers the period that ends there. */
  nextRunAt: string;
}

export interface ExportScheduleStore {
  create(schedule: ExportSchedule): Promise<void>;
  list(orgId: string): Promise<ExportSchedule[]>;
  delete(orgId: string, id: string): Promise<boolean>;
  /** Every schedule of every org whose next run is at or before `nowIso`. */
  due(nowIso: string): Promise<ExportSchedule[]>;
  /** Moves the next run from `from` to `to`; false when another clock already did (the run is theirs). */
  claim(schedule: ExportSchedule, from: string, to: string): Promise<boolean>;
}

const WEEK_MS = 7 * DAY_MS;

/** The start of the period that holds `ms`: the UTC day, or the ISO week (Monday 00:00 UTC). */
function periodStart(every: ScheduleEvery, ms: number): number {
  const day = Math.floor(ms / DAY_MS) * DAY_MS;
  if (every === 'day') return day;
  const weekday = (new Date(day).getUTCDay() + 6) % 7; // Monday 0
  return day - weekday * DAY_MS;
}

/** The first period boundary after `ms`. */
export function nextBoundary(every: ScheduleEvery, ms: number): number {
  return periodStart(every, ms) + (every === 'day' ? DAY_MS : WEEK_MS);
}

export function parseSchedule(body: unknown, orgId: string, nowMs: number): ExportSchedule {
  const input = parseOrThrow(exportScheduleSchema, body, { notObjectMessage: 'must be a JSON object: {"name", "every", "format", "filter"}' });
  const raw = (body as { filter?: Record<string, unknown> }).filter ?? {};
  return {
    orgId, id: `es_${randomUUID().replace(/-/g, '')}`, name: input.name, every: input.every, format: input.format, filter: raw,
    createdAt: toIso(nowMs), nextRunAt: toIso(nextBoundary(input.every, nowMs)),
  };
}

export function presentSchedule(schedule: ExportSchedule) {
  return {
    id: schedule.id, name: schedule.name, every: schedule.every, format: schedule.format, filter: schedule.filter,
    created_at: schedule.createdAt, next_run_at: schedule.nextRunAt,
  };
}

export async function deleteSchedule(store: ExportScheduleStore, orgId: string, id: string): Promise<void> {
  if (!/^es_[0-9a-f]{32}$/.test(id) || !(await store.delete(orgId, id))) throw new NotFoundError(`No export schedule '${id.slice(0, 100)}'.`);
}

/** What one clock tick did: the runs it started, and the schedules whose run failed to start (retried next tick). */
export interface ScheduleTick {
  started: ExportJob[];
  failed: Array<{ orgId: string; scheduleId: string; error: Error }>;
}

/**
 * Starts every due run: each schedule whose boundary has passed gets one export of the period that ended at that
 * boundary (a clock that was off for days starts the latest period only, and moves on to the next boundary).
 * Each schedule stands alone: one org's schedule that cannot start (a filter that no
 * longer parses, a store fault) never keeps another org's run from starting, and its claim is given back so the
 * next tick tries it again (a claimed run that never started would otherwise be lost).
 */
export async function runDueSchedules(
  ports: { schedules: ExportScheduleStore; exports: { store: ExportJobStore; scheduler: ExportScheduler } },
  nowMs: number, settleMs: number,
): Promise<ScheduleTick> {
  const tick: ScheduleTick = { started: [], failed: [] };
  for (const schedule of await ports.schedules.due(toIso(nowMs))) {
    const end = periodStart(schedule.every, nowMs);
    const start = end - (schedule.every === 'day' ? DAY_MS : WEEK_MS);
    const next = toIso(nextBoundary(schedule.every, nowMs));
    try {
      if (!(await ports.schedules.claim(schedule, schedule.nextRunAt, next))) continue;
    } catch (error) {
      tick.failed.push({ orgId: schedule.orgId, scheduleId: schedule.id, error: error as Error });
      continue;
    }
    try {
      tick.started.push(await requestExport(ports.exports, {
        orgId: schedule.orgId, nowMs, settleMs, scheduleId: schedule.id,
        body: { format: schedule.format, filter: { ...schedule.filter, from: toIso(start), to: toIso(end) } },
      }));
    } catch (error) {
      tick.failed.push({ orgId: schedule.orgId, scheduleId: schedule.id, error: error as Error });
      await ports.schedules.claim({ ...schedule, nextRunAt: next }, next, schedule.nextRunAt).catch(() => undefined);
    }
  }
  return tick;
}
