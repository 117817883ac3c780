import { z } from 'zod';
import { allCatalogueTypes, CUSTOM_TYPE, webhookOnlyTypes } from './catalogue.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { LeadEvent } from './event.js';
import { formatPath, OUTCOMES, SOURCE_PATTERN } from './event.js';
import { UUID_PATTERN } from './ids.js';
import { maskEvent } from './masking.js';
import type { EventStore, RangeQuery, TypeMatch } from './ports.js';
import { DAY_MS, MAX_FUTURE_SKEW_MS, parseIsoWithOffset, toIso, utcDay } from './time.js';
import { eventKeysFor } from './keys.js';

export const MAX_LIST_RANGE_DAYS = 31;
const DEFAULT_LIST_RANGE_MS = DAY_MS;

export interface Viewer {
  orgId: string;
  canSeePii: boolean;
}

export interface ListResponse {
  items: LeadEvent[];
  next_cursor: string | null;
}

type Params = Record<string, string | undefined>;

const isoParam = z.string().transform((value, ctx) => {
  const ms = parseIsoWithOffset(value);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO 8601 date-time with an offset, e.g. 2026-11-23T00:00:00Z' });
    return z.NEVER;
  }
  return ms;
});

const KNOWN_TYPES = new Set<string>([...allCatalogueTypes, ...webhookOnlyTypes]);

/** `type=a,b.*`: exact catalogue/custom types, or a family by prefix (`source.*`). */
const typeParam = z.string().transform((value, ctx) => {
  const matches: TypeMatch[] = [];
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    if (part.endsWith('.*') && /^[a-z0-9_.]{1,99}\.\*$/.test(part)) matches.push({ prefix: part.slice(0, -1) });
    else if (KNOWN_TYPES.has(part) || CUSTOM_TYPE.test(part)) matches.push({ equals: part });
    else ctx.addIssue({ code: 'custom', message: `unknown event type '${part.slice(0, 100)}' (use a catalogue type, custom.<name>, or a prefix like source.*)` });
  }
  if (matches.length === 0 && value.trim() === '') ctx.addIssue({ code: 'custom', message: 'must not be empty' });
  if (matches.length > 20) ctx.addIssue({ code: 'custom', message: 'at most 20 types' });
  return matches;
});

const includeParam = z.string().transform((value, ctx) => {
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  for (const part of parts) {
    if (part !== 'lead_snapshot' && part !== 'raw_payload') {
      ctx.addIssue({ code: 'custom', message: `cannot include '${part.slice(0, 50)}' (use lead_snapshot, raw_payload)` });
    }
  }
  return { leadSnapshot: parts.includes('lead_snapshot'), rawPayload: parts.includes('raw_payload') };
});

const common = {
  type: typeParam.optional(),
  outcome: z.enum(OUTCOMES).optional(),
  order: z.enum(['asc', 'desc']).optional(),
  limit: z
    .string()
    .regex(/^\d{1,4}$/, 'must be a whole number from 1 to 1000')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 1000, 'must be a whole number from 1 to 1000')
    .optional(),
  cursor: z.string().optional(),
};

const timelineParams = z.strictObject({ ...common, from: isoParam.optional(), to: isoParam.optional(), include: includeParam.optional() });
const listParams = z.strictObject({
  ...common,
  from: isoParam.optional(),
  to: isoParam.optional(),
  source: z.string().regex(SOURCE_PATTERN, 'must match [a-z0-9_]{1,100}').optional(),
  flow_id: z.string().min(1).max(255).optional(),
});
const flowParams = z.strictObject({
  ...common,
  lead_id: z.string().min(1).max(255).optional(),
  start: isoParam.optional(),
  end: isoParam.optional(),
  from: isoParam.optional(),
  to: isoParam.optional(),
});

function parseParams<T extends z.ZodType>(schema: T, params: Params): z.infer<T> {
  const clean: Params = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) clean[key] = value;
  const parsed = schema.safeParse(clean);
  if (!parsed.success) {
    throw new ValidationError(
      parsed.error.issues.flatMap((issue) =>
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ path: key, message: 'is not a known query parameter' }))
          : [{ path: formatPath(issue.path), message: issue.message.replace(/^Invalid input: /, '') }],
      ),
    );
  }
  return parsed.data;
}

function checkRange(fromMs: number | undefined, toMs: number | undefined, names: [string, string]): void {
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw new ValidationError([{ path: names[0], message: `must be before ${names[1]}` }]);
  }
}

async function runQuery(
  store: EventStore,
  viewer: Viewer,
  binding: Record<string, unknown>,
  cursor: string | undefined,
  query: Omit<RangeQuery, 'after'>,
): Promise<ListResponse> {
  const after = cursor === undefined ? undefined : decodeCursor(cursor, viewer.orgId, binding);
  if (after && after.partition >= query.partitions.length) {
    throw new ValidationError([{ path: 'cursor', message: 'is not a cursor for this query' }]);
  }
  const page = await store.query({ ...query, ...(after ? { after } : {}) });
  return {
    items: viewer.canSeePii ? page.items : page.items.map(maskEvent),
    next_cursor: page.next ? encodeCursor(page.next, viewer.orgId, binding) : null,
  };
}

export async function getEvent(store: EventStore, viewer: Viewer, id: string, nowMs: number): Promise<LeadEvent> {
  const notFound = () => new NotFoundError(`No event ${id.slice(0, 100)}.`);
  if (!UUID_PATTERN.test(id)) throw notFound();
  const event = await store.get(viewer.orgId, id.toLowerCase(), nowMs);
  if (!event) throw notFound();
  return viewer.canSeePii ? event : maskEvent(event);
}

/** A lead's timeline, ordered by (occurred_at, id). */
export async function leadTimeline(store: EventStore, viewer: Viewer, leadId: string, params: Params, nowMs: number): Promise<ListResponse> {
  const p = parseParams(timelineParams, params);
  checkRange(p.from, p.to, ['from', 'to']);
  const binding = { route: 'timeline', leadId, type: params.type, outcome: p.outcome, from: p.from, to: p.to, order: p.order ?? 'asc' };
  return runQuery(store, viewer, binding, p.cursor, {
    index: 'by_lead',
    partitions: [eventKeysFor.lead(viewer.orgId, leadId)],
    ...(p.from !== undefined ? { fromMs: p.from } : {}),
    ...(p.to !== undefined ? { toMs: p.to } : {}),
    order: p.order ?? 'asc',
    limit: p.limit ?? 100,
    filters: { ...(p.type ? { eventTypes: p.type } : {}), ...(p.outcome ? { outcome: p.outcome } : {}) },
    include: p.include ?? { leadSnapshot: false, rawPayload: false },
    nowMs,
  });
}

/** The org's events in a time range of at most 31 days (default: the last 24 hours), one partition per UTC day. */
export async function listEvents(store: EventStore, viewer: Viewer, params: Params, nowMs: number): Promise<ListResponse> {
  const p = parseParams(listParams, params);
  const toMs = p.to ?? nowMs + MAX_FUTURE_SKEW_MS;
  const fromMs = p.from ?? toMs - DEFAULT_LIST_RANGE_MS;
  checkRange(fromMs, toMs, ['from', 'to']);
  if (toMs - fromMs > MAX_LIST_RANGE_DAYS * DAY_MS) {
    throw new ValidationError([{ path: 'from', message: `the range from..to must be at most ${MAX_LIST_RANGE_DAYS} days` }]);
  }
  const order = p.order ?? 'asc';
  const binding = { route: 'list', type: params.type, outcome: p.outcome, source: p.source, flow_id: p.flow_id, from: fromMs, to: toMs, order };
  const filters = {
    ...(p.type ? { eventTypes: p.type } : {}),
    ...(p.outcome ? { outcome: p.outcome } : {}),
    ...(p.source ? { source: p.source } : {}),
  };
  const base = { fromMs, toMs, order, limit: p.limit ?? 100, filters, include: { leadSnapshot: false, rawPayload: false }, nowMs };
  if (p.flow_id) {
    return runQuery(store, viewer, binding, p.cursor, { ...base, index: 'by_flow', partitions: [eventKeysFor.flow(viewer.orgId, p.flow_id)] });
  }
  const days: string[] = [];
  for (let day = Date.parse(utcDay(toIso(fromMs))); day < toMs; day += DAY_MS) days.push(eventKeysFor.day(viewer.orgId, utcDay(toIso(day))));
  if (order === 'desc') days.reverse();
  return runQuery(store, viewer, binding, p.cursor, { ...base, index: 'by_day', partitions: days });
}

/** LeadConduit-style: a flow's events, optionally one lead's (`lead_id`), a type, and start/end. */
export async function flowEvents(store: EventStore, viewer: Viewer, flowId: string, params: Params, nowMs: number): Promise<ListResponse> {
  const p = parseParams(flowParams, params);
  const fromMs = p.start ?? p.from;
  const toMs = p.end ?? p.to;
  checkRange(fromMs, toMs, [p.start !== undefined ? 'start' : 'from', p.end !== undefined ? 'end' : 'to']);
  const order = p.order ?? 'asc';
  const binding = { route: 'flow', flowId, lead: p.lead_id, type: params.type, outcome: p.outcome, from: fromMs, to: toMs, order };
  return runQuery(store, viewer, binding, p.cursor, {
    index: 'by_flow',
    partitions: [eventKeysFor.flow(viewer.orgId, flowId)],
    ...(fromMs !== undefined ? { fromMs } : {}),
    ...(toMs !== undefined ? { toMs } : {}),
    order,
    limit: p.limit ?? 100,
    filters: { ...(p.type ? { eventTypes: p.type } : {}), ...(p.outcome ? { outcome: p.outcome } : {}), ...(p.lead_id ? { leadId: p.lead_id } : {}) },
    include: { leadSnapshot: false, rawPayload: false },
    nowMs,
  });
}
