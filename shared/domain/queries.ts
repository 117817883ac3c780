import { allCatalogueTypes, CUSTOM_TYPE, webhookOnlyTypes } from './catalogue.js';
import type { CursorDefaults, Cursors, OpenedCursor } from './cursor.js';
import { NotFoundError, ValidationError } from './errors.js';
import type { LeadEvent, RawBody } from './event.js';
import { OUTCOMES, SOURCE_PATTERN } from './event.js';
import * as z from 'zod/mini';
import { idString, isoParam, limitParam, param, parseOrThrow } from './schema.js';
import { UUID_PATTERN } from './ids.js';
import { maskEvent, maskId, type MaskOptions } from './masking.js';
import type { ErasureStore, EventStore, IdentityStore, RangeQuery, TypeMatch } from './ports.js';
import { DAY_MS, MAX_FUTURE_SKEW_MS, utcDays } from './time.js';
import { eventKeysFor } from './keys.js';
import { dayPartitions, flowPartitions } from './shards.js';
import { identityKey, leadFamily, liveLead, mergedSubtree, personKeys, presentIdentities, type LeadIdentity } from './identity.js';

export const MAX_LIST_RANGE_DAYS = 31;
const DEFAULT_LIST_RANGE_MS = MAX_LIST_RANGE_DAYS * DAY_MS;

export interface Viewer {
  orgId: string;
  canSeePii: boolean;
  /** The org's masking options, for a viewer who cannot see PII. */
  mask?: MaskOptions;
}

export interface ListResponse {
  items: LeadEvent[];
  next_cursor: string | null;
}

type Params = Record<string, string | undefined>;

const KNOWN_TYPES = new Set<string>([...allCatalogueTypes, ...webhookOnlyTypes]);

/** `type=a,b.*`: exact catalogue/custom types, or a family by prefix (`source.*`); exports take the same. */
export const typeParam = param((value): TypeMatch[] | { problem: string } => {
  const matches: TypeMatch[] = [];
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return { problem: 'must not be empty' };
  if (parts.length > 20) return { problem: 'at most 20 types' };
  for (const part of parts) {
    if (part.endsWith('.*') && /^[a-z0-9_.]{1,99}\.\*$/.test(part)) matches.push({ prefix: part.slice(0, -1) });
    else if (KNOWN_TYPES.has(part) || CUSTOM_TYPE.test(part)) matches.push({ equals: part });
    else return { problem: `unknown event type '${part.slice(0, 100)}' (use a catalogue type, custom.<name>, or a prefix like source.*)` };
  }
  return matches;
});

const includeParam = param((value): RangeQuery['include'] | { problem: string } => {
  const parts = value.split(',').map((p) => p.trim()).filter(Boolean);
  const unknown = parts.find((part) => part !== 'lead_snapshot' && part !== 'raw_payload');
  if (unknown !== undefined) return { problem: `cannot include '${unknown.slice(0, 50)}' (use lead_snapshot, raw_payload)` };
  return { leadSnapshot: parts.includes('lead_snapshot'), rawPayload: parts.includes('raw_payload') };
});

const common = {
  type: z.optional(typeParam),
  outcome: z.optional(z.enum(OUTCOMES)),
  order: z.optional(z.enum(['asc', 'desc'])),
  limit: z.optional(limitParam),
  cursor: z.optional(z.string()),
};

export const timelineParams = z.strictObject({ ...common, from: z.optional(isoParam), to: z.optional(isoParam), include: z.optional(includeParam) });
export const listParams = z.strictObject({
  ...common,
  from: z.optional(isoParam),
  to: z.optional(isoParam),
  source: z.optional(z.string().check(z.regex(SOURCE_PATTERN, 'must match [a-z0-9_]{1,100}'))),
  flow_id: z.optional(idString()),
});
export const flowParams = z.strictObject({
  ...common,
  lead_id: z.optional(idString()),
  start: z.optional(isoParam),
  end: z.optional(isoParam),
  from: z.optional(isoParam),
  to: z.optional(isoParam),
});

function parseParams<T extends z.ZodMiniType>(schema: T, params: Params): z.infer<T> {
  const clean: Params = {};
  for (const [key, value] of Object.entries(params)) if (value !== undefined) clean[key] = value;
  return parseOrThrow(schema, clean, { unknownKeyMessage: 'is not a known query parameter' });
}

function checkRange(fromMs: number | undefined, toMs: number | undefined, names: [string, string]): void {
  if (fromMs !== undefined && toMs !== undefined && fromMs >= toMs) {
    throw new ValidationError([{ path: names[0], message: `must be before ${names[1]}` }]);
  }
}

/** Reads: the event store, the signer of their page cursors, and the request's deadline (the store stops reading when it fires). */
export interface ReadPorts {
  store: EventStore;
  cursors: Cursors;
  signal?: AbortSignal | undefined;
}

/**
 * A page's byte budget: a page stops adding items once its JSON would pass 4 MB (always at least one item), and
 * answers next_cursor from the last item it holds. AWS Lambda answers a synchronous invocation of at most 6 MB
 * ("For synchronous invocations, the maximum payload size is 6 MB", Lambda API reference, Invoke; Lambda quotas);
 * API Gateway's Lambda proxy response carries the body inside a JSON envelope with its headers (base64 when
 * binary, 4/3 of the size), so 4 MB leaves that room. One event is far below it (a 256 KB body, claim-checked raw
 * payloads), so one item always fits.
 */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024;
/** `{"items":[` … `],"next_cursor":"…"}`: the envelope around the items, a cursor at most 600 characters (cursor.ts). */
const PAGE_ENVELOPE_BYTES = 1024;

async function runQuery(
  { store, cursors, signal }: ReadPorts,
  viewer: Viewer,
  binding: Record<string, unknown>,
  cursor: string | OpenedCursor | undefined,
  query: Omit<RangeQuery, 'after'>,
  defaults?: CursorDefaults,
): Promise<ListResponse> {
  const opened = typeof cursor === 'string' ? await cursors.open(cursor, viewer.orgId, binding) : cursor;
  const after = opened?.position;
  if (after && after.partition >= query.partitions.length) {
    throw new ValidationError([{ path: 'cursor', message: 'is not a cursor for this query' }]);
  }
  const page = await store.query({ ...query, ...(after ? { after } : {}), ...(signal ? { signal } : {}) });
  // Each item masked once, measured as it will be sent (JSON.stringify, as `json()` answers), and only until the
  // budget is spent: what does not fit is neither masked nor sent, and the next page starts after the last item sent.
  const items: LeadEvent[] = [];
  let bytes = PAGE_ENVELOPE_BYTES;
  for (const stored of page.items) {
    const item = viewer.canSeePii ? stored : maskEvent(stored, viewer.mask);
    const size = Buffer.byteLength(JSON.stringify(item), 'utf8') + 1; // and its comma
    if (items.length > 0 && bytes + size > MAX_PAGE_BYTES) break;
    items.push(item);
    bytes += size;
  }
  const next = items.length < page.items.length ? page.positions[items.length - 1] : page.next;
  return { items, next_cursor: next ? await cursors.encode(next, viewer.orgId, binding, defaults) : null };
}

export async function getEvent(store: EventStore, viewer: Viewer, id: string, nowMs: number): Promise<LeadEvent> {
  const notFound = () => new NotFoundError(`No event ${id.slice(0, 100)}.`);
  if (!UUID_PATTERN.test(id)) throw notFound();
  const event = await store.get(viewer.orgId, id.toLowerCase(), nowMs);
  if (!event) throw notFound();
  return viewer.canSeePii ? event : maskEvent(event, viewer.mask);
}

/**
 * The bytes an event arrived with (a webhook's body as delivered, so the provider's signature recomputes over
 * them), with their content type. The route requires pii:read as well as events:read: nothing here is masked.
 */
export async function getRawBody(store: EventStore, viewer: Viewer, id: string, nowMs: number): Promise<RawBody> {
  const raw = UUID_PATTERN.test(id) ? await store.getRaw(viewer.orgId, id.toLowerCase(), nowMs) : undefined;
  if (!raw) throw new NotFoundError(`No raw body for event ${id.slice(0, 100)}.`);
  return raw;
}

/**
 * A lead's timeline, ordered by (occurred_at, id): the union of every lead merged with it (section 8), whichever
 * of them is asked for. Stored events keep the lead_id they were stored with.
 */
export async function leadTimeline(
  reads: ReadPorts, identities: IdentityStore, viewer: Viewer, leadId: string, params: Params, nowMs: number,
  erasures?: Pick<ErasureStore, 'ofLead'>,
): Promise<ListResponse> {
  const p = parseParams(timelineParams, params);
  checkRange(p.from, p.to, ['from', 'to']);
  const binding = { route: 'timeline', leadId, type: params.type, outcome: p.outcome, from: p.from, to: p.to, order: p.order ?? 'asc' };
  const { members } = await leadFamily(identities, viewer.orgId, leadId);
  const page = await runQuery(reads, viewer, binding, p.cursor, {
    index: 'by_lead',
    partitions: [members.map((member) => eventKeysFor.lead(viewer.orgId, member))],
    ...(p.from !== undefined ? { fromMs: p.from } : {}),
    ...(p.to !== undefined ? { toMs: p.to } : {}),
    order: p.order ?? 'asc',
    limit: p.limit ?? 100,
    filters: { ...(p.type ? { eventTypes: p.type } : {}), ...(p.outcome ? { outcome: p.outcome } : {}) },
    include: p.include ?? { leadSnapshot: false, rawPayload: false },
    nowMs,
  });
  // An erased lead (section 9) answers 404, as every read of it does, until something new arrives under its id.
  // The detail names the erasure, not the id: an erased id (an e-mail) is not echoed back.
  const erasureId = page.items.length === 0 && p.cursor === undefined && erasures && members.length === 1 ? await erasures.ofLead(viewer.orgId, leadId) : undefined;
  if (erasureId) throw new NotFoundError(`This lead was erased (${erasureId}).`);
  return page;
}

/** The org's events in a time range of at most 31 days (default: the last 31), one partition per UTC day. */
export async function listEvents(reads: ReadPorts, viewer: Viewer, params: Params, nowMs: number): Promise<ListResponse> {
  const p = parseParams(listParams, params);
  // Without a range: the most recent 31 days (up to the 5-minute future skew occurred_at allows). Later pages
  // reuse the range the first page resolved (carried, signed, in the cursor), not a new "now".
  const order = p.order ?? 'asc';
  const binding = { route: 'list', type: params.type, outcome: p.outcome, source: p.source, flow_id: p.flow_id, from: p.from, to: p.to, order };
  const opened = p.cursor !== undefined ? await reads.cursors.open(p.cursor, viewer.orgId, binding) : undefined;
  const carried = opened?.defaults;
  const toMs = p.to ?? carried?.to ?? (p.from !== undefined ? Math.min(p.from + DEFAULT_LIST_RANGE_MS, nowMs + MAX_FUTURE_SKEW_MS) : nowMs + MAX_FUTURE_SKEW_MS);
  const fromMs = p.from ?? carried?.from ?? toMs - DEFAULT_LIST_RANGE_MS;
  checkRange(fromMs, toMs, ['from', 'to']);
  if (toMs - fromMs > MAX_LIST_RANGE_DAYS * DAY_MS) {
    throw new ValidationError([{ path: 'from', message: `the range from..to must be at most ${MAX_LIST_RANGE_DAYS} days` }]);
  }
  const defaults = { from: fromMs, to: toMs };
  const filters = {
    ...(p.type ? { eventTypes: p.type } : {}),
    ...(p.outcome ? { outcome: p.outcome } : {}),
    ...(p.source ? { source: p.source } : {}),
  };
  const base = { fromMs, toMs, order, limit: p.limit ?? 100, filters, include: { leadSnapshot: false, rawPayload: false }, nowMs };
  const plan = await reads.store.shardPlan(viewer.orgId, nowMs);
  if (p.flow_id) {
    return runQuery(reads, viewer, binding, opened, { ...base, index: 'by_flow', partitions: [flowPartitions(viewer.orgId, p.flow_id, plan)] }, defaults);
  }
  const days = utcDays(fromMs, toMs).map((day) => dayPartitions(viewer.orgId, day, plan));
  if (order === 'desc') days.reverse();
  return runQuery(reads, viewer, binding, opened, { ...base, index: 'by_day', partitions: days }, defaults);
}

/** LeadConduit-style: a flow's events, optionally one lead's (`lead_id`), a type, and start/end. */
export async function flowEvents(reads: ReadPorts, viewer: Viewer, flowId: string, params: Params, nowMs: number): Promise<ListResponse> {
  const p = parseParams(flowParams, params);
  const fromMs = p.start ?? p.from;
  const toMs = p.end ?? p.to;
  checkRange(fromMs, toMs, [p.start !== undefined ? 'start' : 'from', p.end !== undefined ? 'end' : 'to']);
  const order = p.order ?? 'asc';
  const binding = { route: 'flow', flowId, lead: p.lead_id, type: params.type, outcome: p.outcome, from: fromMs, to: toMs, order };
  const plan = await reads.store.shardPlan(viewer.orgId, nowMs);
  return runQuery(reads, viewer, binding, p.cursor, {
    index: 'by_flow',
    partitions: [flowPartitions(viewer.orgId, flowId, plan)],
    ...(fromMs !== undefined ? { fromMs } : {}),
    ...(toMs !== undefined ? { toMs } : {}),
    order,
    limit: p.limit ?? 100,
    filters: { ...(p.type ? { eventTypes: p.type } : {}), ...(p.outcome ? { outcome: p.outcome } : {}), ...(p.lead_id ? { leadId: p.lead_id } : {}) },
    include: { leadSnapshot: false, rawPayload: false },
    nowMs,
  });
}

/** A lead as the API shows it (section 8). */
export interface LeadView {
  lead_id: string;
  identities: { kind: LeadIdentity['type']; value: string }[];
  merged_into?: string;
  merged_from: string[];
  first_seen_at: string | null;
  last_seen_at: string | null;
}

/**
 * A lead: its identities and those of the leads merged into it (masked without pii:read), the live lead it was
 * merged into if it was, the leads merged into it, and when it was first and last seen. 404 when the org has
 * neither a profile nor events for it.
 */
export async function getLead(store: EventStore, identities: IdentityStore, viewer: Viewer, leadId: string, nowMs: number): Promise<LeadView> {
  const tree = await mergedSubtree(identities, viewer.orgId, leadId);
  const own = [...tree.keys()];
  const record = tree.get(leadId);
  const profile = record?.profile;
  const edge = (order: 'asc' | 'desc') => store.query({
    index: 'by_lead', partitions: [own.map((member) => eventKeysFor.lead(viewer.orgId, member))], order, limit: 1, filters: {},
    include: { leadSnapshot: false, rawPayload: false }, nowMs,
  });
  const [first, last] = await Promise.all([edge('asc'), edge('desc')]);
  if (!profile && first.items.length === 0) throw new NotFoundError(`No lead ${leadId.slice(0, 100)}.`);
  const firstSeen = [profile?.firstSeenAt, first.items[0]?.received_at].filter((at): at is string => at !== undefined).sort()[0];
  // The id asked for is echoed as given (the console navigates by it); other leads' ids are masked like any id.
  const otherId = (id: string) => (viewer.canSeePii ? id : maskId(id));
  return {
    lead_id: leadId,
    identities: presentIdentities([...new Set([...tree.values()].flatMap((member) => member.identities))], viewer.canSeePii),
    ...(profile?.mergedInto ? { merged_into: otherId(await liveLead(identities, viewer.orgId, leadId)) } : {}),
    merged_from: (record?.mergedFrom ?? []).map((merge) => otherId(merge.lead)),
    first_seen_at: firstSeen ?? null,
    last_seen_at: last.items[0]?.received_at ?? firstSeen ?? null,
  };
}

/** GET /v1/leads: exactly one of email, phone (with an optional default country) or ref. */
export const leadLookupParams = z.strictObject({
  email: z.optional(z.string().check(z.maxLength(320))),
  phone: z.optional(z.string().check(z.maxLength(40))),
  country: z.optional(z.string().check(z.regex(/^[A-Za-z]{2}$/, 'must be a two-letter country code, e.g. BR'))),
  ref: z.optional(z.string().check(z.maxLength(300))),
});

/** GET /v1/leads?email=|phone=[&country=]|ref=: the live lead an identity belongs to (none: an empty list). */
export async function findLeads(store: EventStore, identities: IdentityStore, viewer: Viewer, params: Params, nowMs: number): Promise<{ items: LeadView[] }> {
  const given = (['email', 'phone', 'ref'] as const).filter((name) => params[name] !== undefined && params[name] !== '');
  parseParams(leadLookupParams, params);
  if (given.length !== 1) throw new ValidationError([{ path: given.length === 0 ? 'email' : given[1]!, message: 'give exactly one of email, phone or ref' }]);
  const value = params[given[0]!]!;
  const key = personKeys({
    emails: given[0] === 'email' ? [value] : [],
    phones: given[0] === 'phone' ? [{ value, ...(params.country ? { defaultCountry: params.country } : {}) }] : [],
    refs: [],
  })[0] ?? (given[0] === 'ref' ? identityKey({ type: 'ref', value: value.slice(0, 200) }) : undefined);
  if (key === undefined) throw new ValidationError([{ path: given[0]!, message: `is not a valid ${given[0] === 'email' ? 'e-mail address' : 'phone number'}` }]);
  const claimant = (await identities.find(viewer.orgId, [key])).get(key);
  if (claimant === undefined) return { items: [] };
  const live = await liveLead(identities, viewer.orgId, claimant);
  const lead = await getLead(store, identities, viewer, live, nowMs);
  // A lookup finds a lead id the caller did not give: masked like any id without pii:read.
  return { items: [viewer.canSeePii ? lead : { ...lead, lead_id: maskId(lead.lead_id) }] };
}
