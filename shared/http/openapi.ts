import * as z from 'zod/mini';
import { alertParams } from '../domain/alerts.js';
import { auditParams } from '../domain/audit.js';
import { ERASURE_PHASES } from '../domain/erasure.js';
import { eventInputSchema, OUTCOMES, SCHEMA_VERSION } from '../domain/event.js';
import { EXPORT_FORMATS, exportRequestSchema } from '../domain/exports.js';
import { exportScheduleSchema, SCHEDULE_EVERY } from '../domain/export-schedules.js';
import { REPLAY_EVENTS_PER_SECOND, replayRequestSchema } from '../domain/replays.js';
import { MAX_BATCH_EVENTS } from '../domain/ingest.js';
import { identitySettingsBody, unmergeBody } from '../domain/identity.js';
import { privacySettingsBody } from '../domain/privacy.js';
import { rateLimitSettingsBody } from '../domain/rate-limit.js';
import { MAX_RATE_LIMIT, RATE_LIMIT_DEFAULTS } from '../definitions/rate-limits.js';
import { flowParams, leadLookupParams, listParams, timelineParams } from '../domain/queries.js';
import { remapBody } from '../domain/webhooks/remap.js';
import { PROVIDERS } from '../domain/webhooks/signatures.js';
import { isRateLimited, routeKey, routes, type RouteDefinition, type RouteKey } from '../definitions/routes.js';
import { PROBLEM_BASE } from './problem.js';
import { GROUP_COLUMN_TYPES, GROUP_DESCRIPTIONS, REPORTS, type ReportColumnType, type ReportDefinition } from '../definitions/reports.js';
import { reportParamsSchema } from '../domain/reports.js';
import { checkpointParams, consistencyParams, evidenceParams } from '../domain/proof-log.js';

/**
 * The API description (contract section 11): OpenAPI 3.1 built from the route table and the very zod schemas
 * that validate requests (event input, query parameters, bodies). Responses are described by the schemas below;
 * the integration tests validate every response they receive against this document, so neither can drift.
 * The console's own pages (`/console…`) are routes but not API operations.
 */

// ── Response shapes ─────────────────────────────────────────────────────────────────────────────────────

const isoDateTime = z.string().check(z.iso.datetime({ offset: true }));
const jsonObject = z.record(z.string(), z.unknown());

export const fieldErrorSchema = z.strictObject({ path: z.string(), message: z.string() });

export const problemSchema = z.strictObject({
  type: z.string().check(z.regex(new RegExp(`^${PROBLEM_BASE.replace(/[.\/]/g, '\\$&')}[a-z-]+$`))),
  title: z.string(),
  status: z.int().check(z.gte(400), z.lte(599)),
  detail: z.string(),
  instance: z.optional(z.string()),
  request_id: z.optional(z.string()),
  errors: z.optional(z.array(fieldErrorSchema)),
});

/** A stored event as reads answer it (section 1): the input plus the server's fields. */
export const eventSchema = z.extend(eventInputSchema, {
  id: z.string(),
  org_id: z.string(),
  lead_id: z.string(),
  outcome: z.optional(z.enum(OUTCOMES)),
  payload: jsonObject,
  occurred_at: isoDateTime,
  received_at: isoDateTime,
  expires_at: isoDateTime,
  schema_version: z.literal(SCHEMA_VERSION),
});

const eventPage = z.strictObject({ items: z.array(eventSchema), next_cursor: z.nullable(z.string()) });

export const leadSchema = z.strictObject({
  lead_id: z.string(),
  identities: z.array(z.strictObject({ kind: z.enum(['email', 'phone', 'ref']), value: z.string() })),
  merged_into: z.optional(z.string()),
  merged_from: z.array(z.string()),
  first_seen_at: z.nullable(isoDateTime),
  last_seen_at: z.nullable(isoDateTime),
});

const batchResult = z.strictObject({
  index: z.int().check(z.gte(0)),
  // `error` (beyond the contract's list): our own fault while storing this item (503, retry the batch); the others stand.
  status: z.enum(['created', 'duplicate', 'conflict', 'invalid', 'error']),
  id: z.optional(z.string()),
  problem: z.optional(problemSchema),
});

const count = z.int().check(z.gte(0));
/** One LeadConduit event's result (section 12): like a batch item's, without `conflict` (the first copy stands: `duplicate` with a problem). */
const leadconduitResult = z.strictObject({
  index: z.int().check(z.gte(0)),
  status: z.enum(['created', 'duplicate', 'invalid', 'error']),
  id: z.optional(z.string()),
  problem: z.optional(problemSchema),
});
const leadconduitCounts = { created: count, duplicate: count, invalid: count };
const leadconduitStatusSchema = z.strictObject({
  api: z.strictObject(leadconduitCounts),
  inbox: z.strictObject({ ...leadconduitCounts, last_key: z.nullable(z.string()), last_error: z.nullable(z.string()) }),
  pull: z.strictObject({ ...leadconduitCounts, after_id: z.nullable(z.string()), last_run_at: z.nullable(z.string()), last_error: z.nullable(z.string()) }),
});
const erasureSchema = z.strictObject({
  erasure_id: z.string(),
  lead_id: z.string(),
  status: z.enum(['running', 'completed']),
  phase: z.enum(ERASURE_PHASES),
  leads: z.array(z.string()),
  counts: z.strictObject({
    leads: count, events: count, raw_blobs: count, identities: count, profiles: count, archive_rows: count, archive_files: count,
    export_files: z.optional(count), audit_entries: z.optional(count), inbox_objects: z.optional(count),
  }),
  requested_at: isoDateTime,
  completed_at: z.optional(isoDateTime),
});

const auditEntrySchema = z.strictObject({
  at: isoDateTime,
  key_id: z.string(),
  action: z.string(),
  resource: z.string(),
  request_id: z.string(),
  detail: z.optional(z.record(z.string(), z.number())),
});

const alertSchema = z.strictObject({
  rule_id: z.string(),
  org_id: z.string(),
  dimension: z.string(),
  window_start: isoDateTime,
  window_end: isoDateTime,
  value: z.number(),
  threshold: z.number(),
  sample_size: count,
  top_reasons: z.array(z.strictObject({ reason: z.string(), count })),
});

const exportSchema = z.strictObject({
  id: z.string(),
  // erased: the file held rows of a lead since erased (section 9); it is deleted and no url is given.
  status: z.enum(['queued', 'running', 'succeeded', 'failed', 'erased']),
  format: z.enum(EXPORT_FORMATS),
  rows: count,
  bytes: count,
  progress: z.optional(z.strictObject({ parts_done: count, parts: count })),
  requested_at: isoDateTime,
  completed_at: z.optional(isoDateTime),
  url: z.optional(z.string()),
  url_expires_at: z.optional(isoDateTime),
  error: z.optional(z.string()),
  schedule_id: z.optional(z.string()),
});

const scheduleSchema = z.strictObject({
  id: z.string(),
  name: z.string(),
  every: z.enum(SCHEDULE_EVERY),
  format: z.enum(EXPORT_FORMATS),
  filter: jsonObject,
  created_at: isoDateTime,
  next_run_at: isoDateTime,
});

const replaySchema = z.strictObject({
  id: z.string(),
  status: z.enum(['running', 'completed']),
  matched: count,
  emitted: count,
  skipped: count,
  requested_at: isoDateTime,
  completed_at: z.optional(isoDateTime),
});

const privacySettingsSchema = z.strictObject({ pii_keys: z.array(z.string()), updated_at: z.optional(isoDateTime) });
const identityLimitsSchema = z.strictObject({ email: count, phone: count, ref: count });
const identitySettingsSchema = z.strictObject({ ignore: z.array(z.string()), limits: identityLimitsSchema, updated_at: z.optional(isoDateTime) });
const rateLimitSettingsSchema = z.strictObject({ requests_per_second: z.int().check(z.gte(1)), burst: z.int().check(z.gte(1)), updated_at: z.optional(isoDateTime) });

/**
 * Reports (section 13): each report's answer with its own row schema (its columns, the group column of each group_by
 * it accepts), told apart by `name`. Values are null where a ratio has no denominator or a group has no value.
 */
const REPORT_VALUE: Record<ReportColumnType, Schema> = {
  string: z.nullable(z.string()), integer: z.nullable(z.int()), number: z.nullable(z.number()),
  date: z.nullable(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/))), timestamp: z.nullable(isoDateTime),
};
const reportBodyOf = (report: ReportDefinition) => z.strictObject({
  name: z.literal(report.name),
  from: isoDateTime,
  to: isoDateTime,
  columns: z.array(z.strictObject({ name: z.string(), type: z.enum(['string', 'integer', 'number', 'date', 'timestamp']) })),
  rows: z.array(z.strictObject({
    ...Object.fromEntries(report.groupBy.map((g) => [g, z.optional(REPORT_VALUE[GROUP_COLUMN_TYPES[g]])])),
    ...Object.fromEntries(report.columns.map((c) => [c.name, REPORT_VALUE[c.type]])),
  })),
  generated_at: isoDateTime,
});
const reportBodySchema = z.union(REPORTS.map(reportBodyOf) as unknown as [Schema, Schema, ...Schema[]]);
const reportRunSchema = z.strictObject({
  id: z.string(), status: z.enum(['running', 'succeeded', 'failed']), report: z.optional(reportBodySchema), error: z.optional(z.string()),
});
const reportsDescription = REPORTS.map((r) => `\`${r.name}\`: ${r.description}; columns ${r.columns.map((c) => `${c.name} (${c.type})`).join(', ')}; ${r.intervals ? `interval ${r.intervals.join('|')} (default day), no group_by` : `group_by ${r.groupBy.join('|')}${r.defaultGroup ? ` (default ${r.defaultGroup})` : ' (default: one row)'}`}.`).join(' ');

const b64Hash = z.string().check(z.regex(/^[A-Za-z0-9+/]{43}=$/));
const checkpointSchema = z.strictObject({
  org_id: z.string(), tree_size: z.int().check(z.nonnegative()), root_hash: b64Hash, issued_at: z.string(), body: z.string(), signature: z.string(), key_id: z.string(),
});
const leafSchema = z.strictObject({ id: z.string(), org_id: z.string(), lead_id: z.string(), received_at: z.string(), content_hash: z.string() });
const eventProofSchema = z.strictObject({
  event_id: z.string(), leaf_index: z.int().check(z.nonnegative()), leaf_hash: b64Hash, leaf: z.nullable(leafSchema), inclusion_proof: z.array(b64Hash),
  checkpoint: checkpointSchema, erased: z.boolean(), erased_at: z.optional(z.string()),
});
const consistencySchema = z.strictObject({
  from_size: z.int(), to_size: z.int(), from_root_hash: b64Hash, to_root_hash: b64Hash, consistency_proof: z.array(b64Hash),
});
const evidenceBundleSchema = z.strictObject({
  format: z.literal('leadlog-evidence/1'), org_id: z.string(), lead_id: z.string(), generated_at: z.string(), public_key: z.string(), key_id: z.string(),
  checkpoint: checkpointSchema, checkpoints: z.array(checkpointSchema),
  consistency: z.array(z.strictObject({ from_size: z.int(), to_size: z.int(), proof: z.array(b64Hash) })),
  events: z.array(z.strictObject({
    id: z.string(), record: z.string(), raw: z.nullable(z.string()), leaf: leafSchema, leaf_index: z.int(), leaf_hash: b64Hash,
    inclusion_proof: z.array(b64Hash), first_checkpoint_size: z.int(),
  })),
  pending: z.array(z.string()), next_cursor: z.nullable(z.string()),
});

/** Named schemas: `components.schemas` of the document, referenced by `$ref` from operations. */
const COMPONENTS = {
  EventInput: eventInputSchema,
  Event: eventSchema,
  EventPage: eventPage,
  Lead: leadSchema,
  Problem: problemSchema,
  FieldError: fieldErrorSchema,
};

// ── Operations ──────────────────────────────────────────────────────────────────────────────────────────

type Schema = z.ZodMiniType;
interface Success {
  status: number;
  description: string;
  /** A zod schema, a component name, or 'bytes' (any content type: the raw route). */
  body?: Schema | keyof typeof COMPONENTS | 'bytes';
  headers?: Record<string, string>;
  example?: unknown;
}
interface Operation {
  /** The operationId. */
  id: string;
  summary: string;
  description: string;
  tag: 'Events' | 'Leads' | 'Webhooks' | 'Settings' | 'Privacy' | 'Service' | 'Proof of record';
  query?: z.ZodMiniObject;
  body?: { schema: Schema | keyof typeof COMPONENTS; example?: unknown; raw?: boolean };
  success: Success[];
  /** Problem statuses this operation answers, besides the ones every keyed route has (400, 401, 403, 503). */
  problems?: number[];
}

/** The console's pages are served by the API but are not API operations. */
type ConsoleRouteKey = 'GET /console' | 'GET /console/{proxy+}';

const exampleEvent = {
  id: '3f0c7d0e-7a4f-5c53-9f61-8f3f2a0d1b7e', org_id: 'org_dev', lead_id: 'lead_42', source_type: 'direct', source: 'web',
  event_type: 'purchase_completed', outcome: 'success', external_event_id: 'order_1001',
  payload: { order_id: 'order_1001', amount: 197, currency: 'BRL', product_id: 'course_1' },
  occurred_at: '2026-11-23T12:00:00.000Z', received_at: '2026-11-23T12:00:01.000Z', expires_at: '2027-02-21T12:00:01.000Z', schema_version: '1',
};
const exampleInput = {
  lead_id: 'lead_42', source_type: 'direct', source: 'web', event_type: 'purchase_completed', external_event_id: 'order_1001',
  occurred_at: '2026-11-23T12:00:00Z', payload: { order_id: 'order_1001', amount: 197, currency: 'BRL', product_id: 'course_1' },
};
const exampleLead = {
  lead_id: 'lead_42', identities: [{ kind: 'email', value: 'ana@example.com' }, { kind: 'phone', value: '+5511987654321' }],
  merged_from: [], first_seen_at: '2026-11-20T09:00:00.000Z', last_seen_at: '2026-11-23T12:00:01.000Z',
};

const OPERATIONS: Record<Exclude<RouteKey, ConsoleRouteKey>, Operation> = {
  'POST /v1/events': {
    id: 'createEvent',
    tag: 'Events', summary: 'Store one event',
    description: 'Idempotent by (org, source, external_event_id) or the Idempotency-Key header: a repeat with the same content answers 200 with `idempotent-replayed: true`, different content 409.',
    body: { schema: 'EventInput', example: exampleInput },
    success: [
      { status: 201, description: 'Stored', body: z.strictObject({ event: eventSchema }), headers: { location: 'The event\'s URL' }, example: { event: exampleEvent } },
      { status: 200, description: 'A repeat of a stored event (same content): the stored event', body: z.strictObject({ event: eventSchema }), headers: { location: 'The event\'s URL', 'idempotent-replayed': 'true' } },
    ],
    problems: [409, 413, 415],
  },
  'POST /v1/events/batch': {
    id: 'createEvents',
    tag: 'Events', summary: `Store up to ${MAX_BATCH_EVENTS} events`,
    description: 'Each item is judged on its own, in input order; one bad item never fails the others. The answer tells exactly what was stored: `created`, `duplicate` (stored before), `conflict`, `invalid`, or `error` (a server fault while storing that item, with a 503 problem; the other items stand, and retrying the batch is safe for items with an external_event_id or an Idempotency-Key).',
    body: { schema: z.strictObject({ events: z.array(eventInputSchema).check(z.minLength(1), z.maxLength(MAX_BATCH_EVENTS)) }), example: { events: [exampleInput] } },
    success: [{ status: 200, description: 'One result per item, in input order', body: z.strictObject({ results: z.array(batchResult) }), example: { results: [{ index: 0, status: 'created', id: exampleEvent.id }] } }],
    problems: [413, 415],
  },
  'GET /v1/events': {
    id: 'listEvents',
    tag: 'Events', summary: 'The org\'s events', description: 'Ordered by (occurred_at, id), oldest first unless order=desc; a time range of at most 31 days (default the last 31).',
    query: listParams, success: [{ status: 200, description: 'A page of events', body: 'EventPage', example: { items: [exampleEvent], next_cursor: null } }],
  },
  'GET /v1/events/{id}': {
    id: 'getEvent',
    description: "Any event of the caller's org by id; masked without pii:read. Another org's id answers 404.",
    tag: 'Events', summary: 'One event, raw_payload included',
    success: [{ status: 200, description: 'The event', body: 'Event', example: exampleEvent }], problems: [404],
  },
  'GET /v1/events/{id}/raw': {
    id: 'getEventRaw',
    tag: 'Events', summary: 'The exact bytes received, with their original content type',
    description: 'For a webhook, the HTTP body as delivered (its signature verifies); for an API event, its raw_payload as sent. Needs pii:read.',
    success: [{ status: 200, description: 'The bytes', body: 'bytes' }], problems: [404],
  },
  'GET /v1/leads/{lead_id}/events': {
    id: 'getLeadTimeline',
    tag: 'Leads', summary: 'A lead\'s timeline', description: 'Every event of the lead and the leads merged into it, ordered by (occurred_at, id).',
    query: timelineParams, success: [{ status: 200, description: 'A page of the timeline', body: 'EventPage' }], problems: [404],
  },
  'GET /v1/flows/{flow_id}/events': {
    id: 'listFlowEvents',
    description: 'Events that carry this flow_id, optionally of one lead, in a time range (start/end or from/to).',
    tag: 'Events', summary: 'A flow\'s events (LeadConduit style)', query: flowParams,
    success: [{ status: 200, description: 'A page of the flow\'s events', body: 'EventPage' }],
  },
  'GET /v1/leads/{lead_id}': {
    id: 'getLead',
    description: 'Answers for a merged lead too, with merged_into naming the live one.',
    tag: 'Leads', summary: 'A lead: identities, merges, first and last seen',
    success: [{ status: 200, description: 'The lead', body: 'Lead', example: exampleLead }], problems: [404],
  },
  'GET /v1/leads': {
    id: 'findLeads',
    tag: 'Leads', summary: 'Find the lead of an e-mail, phone or provider ref', description: 'Exactly one of email, phone (E.164, or national with country) or ref (`<provider>:<object id>`).',
    query: leadLookupParams, success: [{ status: 200, description: 'The live lead, or none', body: z.strictObject({ items: z.array(leadSchema) }), example: { items: [exampleLead] } }],
  },
  'POST /v1/integrations/leadconduit/events': {
    id: 'ingestLeadConduitEvents',
    tag: 'Events', summary: 'Store LeadConduit events as LeadConduit sends them',
    description: 'One LeadConduit `Event` object (LeadConduit\'s published schema, `components.schemas.Event` of openapi/openapi.yaml in activeprospect/kb) or an array of up to 100 (post a `GET /events` page of 1,000 in chunks of 100); body up to 5 MB, each event up to 1 MB. Idempotent on LeadConduit\'s `id`, whichever way (this route, the Event Streaming inbox, the pull) an event came in. Credentials (Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key headers; `credential` objects) are redacted before anything is stored. Each event is answered on its own, in input order: `created`, `duplicate` (stored before; with a problem when the stored copy differs, which stands), `invalid` (with the reason: not a LeadConduit event, or over 1 MB), or `error` (a server fault for that event, 503; retry).',
    body: { schema: z.union([jsonObject, z.array(jsonObject).check(z.minLength(1), z.maxLength(100))]), example: { id: '5fd4371e940df5a34a3888b3', type: 'recipient', outcome: 'success', reason: '', vars: { lead: { id: '5fd4371e940df5a34a3888b4' } } } },
    success: [{ status: 200, description: 'One result per event, in input order', body: z.strictObject({ results: z.array(leadconduitResult) }), example: { results: [{ index: 0, status: 'created', id: exampleEvent.id }] } }],
    problems: [413, 415],
  },
  'GET /v1/integrations/leadconduit/status': {
    id: 'leadconduitStatus',
    tag: 'Events', summary: 'LeadConduit: what each way in stored',
    description: 'Counts per way in (api, inbox, pull), cumulative since the org\'s first LeadConduit event of that kind; the inbox\'s last object key and error, the pull\'s position (`after_id`), last run and error (null when none).',
    success: [{ status: 200, description: 'The org\'s LeadConduit status', body: leadconduitStatusSchema }],
  },
  'GET /v1/events/{id}/proof': {
    id: 'getEventProof',
    tag: 'Proof of record', summary: 'An event\'s RFC 9162 inclusion proof in its org\'s signed log',
    description: 'Against the org\'s latest signed checkpoint (its tree_size, never a size the caller names). 404 `proof-pending` with Retry-After until a checkpoint holds the event (checkpoints every 5 minutes in AWS, 10 s locally). An erased event keeps its leaf: erased is true and leaf null. A key without pii:read gets leaf null (the leaf names the lead id). Hashes are base64. Verify: docs/proof-of-record.md.',
    success: [{ status: 200, description: 'The proof', body: eventProofSchema }], problems: [404],
  },
  'GET /v1/proofs/checkpoints': {
    id: 'listCheckpoints',
    tag: 'Proof of record', summary: 'The org\'s signed checkpoints, oldest first',
    description: 'Issued in [from, to) (default: all), a page of up to limit (default 100). Each: {org_id, tree_size, root_hash, issued_at}, the exact signed body (a C2SP checkpoint), the base64 DER ECDSA P-256/SHA-256 signature and the key id. In AWS each is also in an S3 bucket under Object Lock (compliance, 400 days).',
    query: checkpointParams, success: [{ status: 200, description: 'A page of checkpoints', body: z.strictObject({ items: z.array(checkpointSchema), next_cursor: z.nullable(z.string()) }) }],
  },
  'GET /v1/proofs/consistency': {
    id: 'getConsistencyProof',
    tag: 'Proof of record', summary: 'An RFC 9162 consistency proof between two sizes of the org\'s log',
    description: 'to_size at most the latest checkpoint\'s tree_size; from_size at most to_size. Verify it with the roots of two signed checkpoints, never with the roots this answer also carries.',
    query: consistencyParams, success: [{ status: 200, description: 'The proof', body: consistencySchema }],
  },
  'GET /v1/proofs/public-key': {
    id: 'getCheckpointPublicKey',
    tag: 'Proof of record', summary: 'The public key checkpoints are signed with (PEM)',
    description: 'SubjectPublicKeyInfo PEM (application/x-pem-file) of the ECDSA P-256 key (AWS KMS in AWS); no key needed.',
    success: [{ status: 200, description: 'The PEM', body: 'bytes' }],
  },
  'GET /v1/leads/{lead_id}/evidence': {
    id: 'getLeadEvidence',
    tag: 'Proof of record', summary: 'An evidence bundle of the lead\'s events, verifiable offline',
    description: 'A page of the lead\'s timeline (its family; limit default 50, the bundle stops at 4 MB and next_cursor continues): each event\'s exact record and raw bytes, leaf, inclusion proof against the latest checkpoint, its first checkpoint, consistency proofs between them, and the public key. Needs pii:read. Check it with `npm run verify -- <bundle>` or as docs/proof-of-record.md shows, without leadlog.',
    query: evidenceParams, success: [{ status: 200, description: 'The bundle', body: evidenceBundleSchema }], problems: [404],
  },
  'GET /v1/alerts': {
    id: 'listAlerts',
    description: 'Each Alert Raised the org\'s windowed rules put on the bus, by window start (default the last 7 days); kept 30 days.',
    tag: 'Events', summary: 'Recent alerts, newest first', query: alertParams,
    success: [{ status: 200, description: 'A page of alerts', body: z.strictObject({ items: z.array(alertSchema), next_cursor: z.nullable(z.string()) }) }],
  },
  'GET /v1/reports/{name}': {
    id: 'getReport',
    tag: 'Events', summary: 'A report over the archive (section 13)',
    description: `Over the archive's \`events\` view (each event once; any range, hot or archived; DuckDB locally, Athena in AWS), from (inclusive) to (exclusive), default the last 30 days. Rates are 0–1 fractions, durations ms, amounts major units, unrounded. A grouped answer's first column is named after group_by: ${Object.entries(GROUP_DESCRIPTIONS).map(([g, d]) => `${g} is ${d}`).join('; ')}. No group is ever an e-mail or a phone. A report that needs longer than the API's time limit answers 202 with its run's URL in Location. Reports: ${reportsDescription} An unknown report is 404; a group_by the report does not take is 400 naming the ones it does.`,
    query: reportParamsSchema,
    success: [
      { status: 200, description: 'The report', body: reportBodySchema },
      { status: 202, description: 'Still running: poll the run (Location)', body: z.strictObject({ id: z.string(), status: z.literal('running') }), headers: { location: 'The run\'s URL' } },
    ],
    problems: [404],
  },
  'GET /v1/reports/runs/{id}': {
    id: 'getReportRun',
    tag: 'Events', summary: 'A report that outlasted its request',
    description: 'The run a 202 named: running, succeeded (with the report, as the 200 of GET /v1/reports/{name} would have been) or failed (with why). Bound to the org and the request: any other id, another org\'s included, is 404. Kept an hour locally; in AWS as long as Athena keeps the query.',
    success: [{ status: 200, description: 'The run', body: reportRunSchema }],
    problems: [404],
  },
  'POST /v1/webhooks/{provider}/{org_id}': {
    id: 'receiveWebhook',
    tag: 'Webhooks', summary: 'A provider\'s webhook delivery',
    description: `Authenticated by the provider's signature over the raw bytes (${PROVIDERS.join(', ')}); no API key. Stored, duplicate and unmapped deliveries all answer 200.`,
    body: { schema: jsonObject, raw: true },
    success: [{
      status: 200, description: 'Stored, a redelivery, or stored as webhook.unmapped',
      body: z.strictObject({ status: z.enum(['stored', 'duplicate']), event_id: z.string(), event_type: z.string(), lead_id: z.string() }),
    }],
    problems: [404, 413, 415],
  },
  'POST /v1/webhooks/remap': {
    id: 'remapWebhooks',
    description: 'A mapping that now exists becomes its catalogue event under an id derived from the unmapped one, so a second run changes nothing.',
    tag: 'Webhooks', summary: 'Run today\'s mappers over stored webhook.unmapped events',
    body: { schema: remapBody, example: { provider: 'shopify' } },
    success: [{ status: 200, description: 'How many were examined and remapped', body: z.strictObject({ examined: count, remapped: count }), example: { examined: 12, remapped: 3 } }],
    problems: [413, 415],
  },
  'GET /v1/health': {
    id: 'getHealth',
    description: 'Touches no dependency; no key.',
    tag: 'Service', summary: 'Liveness',
    success: [{ status: 200, description: 'Up', body: z.strictObject({ status: z.literal('ok'), service: z.literal('leadlog'), version: z.string() }) }],
  },
  'GET /v1/openapi.json': {
    id: 'getOpenApi',
    description: 'OpenAPI 3.1, generated from the schemas that validate requests; no key.',
    tag: 'Service', summary: 'This document', success: [{ status: 200, description: 'OpenAPI 3.1', body: jsonObject }],
  },
  'GET /v1/settings/privacy': {
    id: 'getPrivacySettings',
    description: 'Key names masked as names in reads without pii:read, on the bus, in the archive and exports.',
    tag: 'Settings', summary: 'The org\'s extra PII key names', success: [{ status: 200, description: 'The settings', body: privacySettingsSchema, example: { pii_keys: ['nickname'] } }],
  },
  'PUT /v1/settings/privacy': {
    id: 'putPrivacySettings',
    description: 'Replaces the list; matched ignoring case and separators. Recorded in the audit trail.',
    tag: 'Settings', summary: 'Set the org\'s extra PII key names (masked as names from then on)',
    body: { schema: privacySettingsBody, example: { pii_keys: ['nickname'] } },
    success: [{ status: 200, description: 'The settings as stored (key names normalized)', body: privacySettingsSchema }], problems: [413, 415],
  },
  'GET /v1/settings/identity': {
    id: 'getIdentitySettings',
    description: 'The org\'s own junk values (e-mails and phones never linked to a lead nor merged on, besides the built-in list) and the per-family limits in force (docs/identity.md).',
    tag: 'Settings', summary: 'The org\'s identity rules: ignored values and family limits',
    success: [{ status: 200, description: 'The settings', body: identitySettingsSchema, example: { ignore: ['+5511912345678', 'lead@acme.com'], limits: { email: 5, phone: 5, ref: 50 } } }],
  },
  'PUT /v1/settings/identity': {
    id: 'putIdentitySettings',
    description: 'Replaces the settings; what is left out takes its default. `ignore` values are normalized as identities are: e-mails lower-cased, phones (with their +country code) in E.164; '
      + 'an event naming one keeps it, unlinked. `limits`: the most e-mails, phones and provider customer refs one lead family may hold (defaults 5, 5, 50); a link or merge past one does not happen (`lead.merge_refused`). Recorded in the audit trail.',
    tag: 'Settings', summary: 'Set the org\'s identity rules: ignored values (never linked from then on) and family limits',
    body: { schema: identitySettingsBody, example: { ignore: ['Lead@Acme.com', '+55 11 91234-5678'], limits: { email: 3 } } },
    success: [{ status: 200, description: 'The settings as stored (values normalized)', body: identitySettingsSchema }], problems: [413, 415],
  },
  'GET /v1/settings/limits': {
    id: 'getRateLimitSettings',
    description: `The org's rate limit in force: requests a second sustained and the burst its bucket holds (defaults ${RATE_LIMIT_DEFAULTS.requestsPerSecond} and ${RATE_LIMIT_DEFAULTS.burst}). `
      + 'Every request with an API key, and every webhook delivery whose signature verifies, counts once; a batch of up to 100 events is one request.',
    tag: 'Settings', summary: 'The org\'s rate limit',
    success: [{ status: 200, description: 'The limit in force', body: rateLimitSettingsSchema, example: { requests_per_second: RATE_LIMIT_DEFAULTS.requestsPerSecond, burst: RATE_LIMIT_DEFAULTS.burst } }],
  },
  'PUT /v1/settings/limits': {
    id: 'putRateLimitSettings',
    description: `Replaces the org's rate limit; a field left out takes its default. At most ${MAX_RATE_LIMIT.requestsPerSecond} requests a second and a burst of ${MAX_RATE_LIMIT.burst}. `
      + 'Over the limit, requests are answered 429 (rate-limited) with Retry-After in whole seconds. Applies within SETTINGS_CACHE_SECONDS. Recorded in the audit trail.',
    tag: 'Settings', summary: 'Set the org\'s rate limit (requests a second, burst)',
    body: { schema: rateLimitSettingsBody, example: { requests_per_second: 200, burst: 400 } },
    success: [{ status: 200, description: 'The limit as stored', body: rateLimitSettingsSchema }], problems: [413, 415],
  },
  'GET /v1/audit': {
    id: 'listAudit',
    description: 'Unmasked PII reads, raw reads, key changes, settings changes, remaps and erasures; kept 400 days.',
    tag: 'Privacy', summary: 'The audit trail, newest first', query: auditParams,
    success: [{ status: 200, description: 'A page of audit entries', body: z.strictObject({ items: z.array(auditEntrySchema), next_cursor: z.nullable(z.string()) }) }],
  },
  'DELETE /v1/leads/{lead_id}': {
    id: 'eraseLead',
    description: "Removes the lead family's events, raw bytes, identities and archive rows; asking again returns the same erasure.",
    tag: 'Privacy', summary: 'Erase a lead and every lead merged with it',
    success: [{ status: 202, description: 'The erasure (the same one when asked again)', body: z.strictObject({ erasure_id: z.string(), status: z.enum(['running', 'completed']) }), headers: { location: 'The erasure\'s URL' } }],
    problems: [404],
  },
  'POST /v1/leads/{lead_id}/unmerge': {
    id: 'unmergeLead',
    description: 'Splits a wrong merge: the body\'s lead, merged into this one (directly or through a chain), is live again with the identities it and the leads merged into it claimed, and their events; '
      + 'timelines, lookups and erasure follow the new families, and a delivery never merges the two again. `lead.unmerged` is recorded on both. Asked again: 200 with changed false.',
    tag: 'Leads', summary: 'Unmerge a lead from this one',
    body: { schema: unmergeBody, example: { lead_id: 'lead_43' } },
    success: [{ status: 200, description: 'The lead split off (live again), and the lead it had been merged into', body: z.strictObject({ changed: z.boolean(), from_lead_id: z.string(), lead: leadSchema }) }],
    problems: [404, 409, 413, 415],
  },
  'POST /v1/exports': {
    id: 'createExport',
    description: 'Exactly the matching events, each once, masked as reads without pii:read, from the archive (any range, hot or archived), as CSV (a header of the archive\'s flat columns, then its JSON columns), JSONL or Parquet. Runs asynchronously: it first waits out the archive\'s buffer (20 minutes in AWS, 2 s locally).',
    tag: 'Events', summary: 'Start an export',
    body: { schema: exportRequestSchema, example: { format: 'csv', filter: { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', type: 'purchase_completed' } } },
    success: [{ status: 202, description: 'The job, queued', body: exportSchema, headers: { location: 'The job\'s URL' } }],
    problems: [413, 415],
  },
  'GET /v1/exports/{id}': {
    id: 'getExport',
    description: 'Rows written so far while running; once succeeded, a download URL valid one hour (a presigned S3 URL in AWS).',
    tag: 'Events', summary: 'An export\'s progress and its file', success: [{ status: 200, description: 'The job', body: exportSchema }], problems: [404],
  },
  'POST /v1/exports/schedules': {
    id: 'createExportSchedule',
    description: 'Each run exports the period just ended (the UTC day, or the ISO week from Monday) with this format and filter, and puts `Export Ready` {org_id, export_id, schedule_id, rows} on the bus when its file is ready.',
    tag: 'Events', summary: 'Schedule a daily or weekly export',
    body: { schema: exportScheduleSchema, example: { name: 'daily purchases', every: 'day', format: 'csv', filter: { type: 'purchase_completed' } } },
    success: [{ status: 201, description: 'The schedule', body: scheduleSchema, headers: { location: 'The schedule\'s URL' } }],
    problems: [413, 415],
  },
  'GET /v1/exports/schedules': {
    id: 'listExportSchedules', description: 'Every export schedule of the org, with its next run.',
    tag: 'Events', summary: 'The org\'s export schedules', success: [{ status: 200, description: 'The schedules', body: z.strictObject({ items: z.array(scheduleSchema) }) }],
  },
  'DELETE /v1/exports/schedules/{id}': {
    id: 'deleteExportSchedule', description: 'No run starts after this; exports already started finish.',
    tag: 'Events', summary: 'Delete an export schedule', success: [{ status: 204, description: 'Deleted' }], problems: [404],
  },
  'POST /v1/replays': {
    id: 'createReplay',
    description: `Puts the matching stored events (90 days) on the bus again, as first published plus detail.replay_id, at most ${REPLAY_EVENTS_PER_SECOND} events/s; windowed alert rules and the archive never see them. With dry_run, only the count. No event is emitted twice within a replay (a chunk interrupted by a crash is counted as skipped).`,
    tag: 'Events', summary: 'Replay events on the bus (or count them)',
    body: { schema: replayRequestSchema, example: { from: '2026-11-20T00:00:00Z', to: '2026-11-21T00:00:00Z', type: 'purchase_completed', dry_run: true } },
    success: [
      { status: 200, description: 'A dry run: how many events match', body: z.strictObject({ matched: count }), example: { matched: 1250 } },
      { status: 202, description: 'The replay, started', body: replaySchema, headers: { location: 'The replay\'s URL' } },
    ],
    problems: [413, 415],
  },
  'GET /v1/replays/{id}': {
    id: 'getReplay', description: 'matched = emitted + skipped once completed.',
    tag: 'Events', summary: 'A replay\'s progress', success: [{ status: 200, description: 'The replay', body: replaySchema }], problems: [404],
  },
  'GET /v1/erasures/{id}': {
    id: 'getErasure',
    description: 'running until every store is swept, then completed with exact counts.',
    tag: 'Privacy', summary: 'An erasure\'s progress and counts', success: [{ status: 200, description: 'The erasure', body: erasureSchema }], problems: [404],
  },
};

// ── The document ────────────────────────────────────────────────────────────────────────────────────────

const REF = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * Every schema the document shows by name: the components above, and each operation's body and responses (named
 * after the operation). One registry, converted whole, so schemas refer to each other by `$ref`.
 */
const registry = z.registry<{ id: string }>();
for (const [name, schema] of Object.entries(COMPONENTS)) registry.add(schema, { id: name });
registry.add(privacySettingsSchema, { id: 'PrivacySettings' });
registry.add(identitySettingsSchema, { id: 'IdentitySettings' });
registry.add(rateLimitSettingsSchema, { id: 'RateLimitSettings' });

function named(schema: Schema | string, id: string): Record<string, unknown> {
  if (typeof schema === 'string') return REF(schema);
  const existing = registry.get(schema);
  if (existing) return REF(existing.id);
  registry.add(schema, { id });
  return REF(id);
}

/** A query parameter's own schema (strings, enums, patterns: nothing to refer to). */
function parameterSchema(schema: Schema): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

const PARAM_DOCS: Record<string, string> = {
  type: 'Event types, comma-separated: catalogue types, custom.<name>, or a family prefix such as source.*',
  outcome: 'success, failure or error', order: 'asc or desc by (occurred_at, id)', limit: 'Page size: at most this many, 1 to 1000 (default 100); a page also stops at 4 MB (then next_cursor continues)',
  cursor: 'The next_cursor of the previous page (opaque; bound to the org and the query)',
  from: 'Start of the range (inclusive), ISO 8601 with offset', to: 'End of the range (exclusive), ISO 8601 with offset',
  start: 'Alias of from (LeadConduit)', end: 'Alias of to (LeadConduit)', include: 'lead_snapshot, raw_payload (comma-separated)',
  source: 'The source name', flow_id: 'A flow id', lead_id: 'A lead id', email: 'An e-mail address (matched lower-cased)',
  phone: 'A phone number (E.164, or national with country)', country: 'ISO 3166 alpha-2 country of a national phone number',
  ref: 'A provider object: <provider>:<object id>, e.g. stripe:cus_123',
  entity_id: 'A recipient / buyer id', group_by: "A report's grouping: one of the values the report takes (see the report's description)",
  interval: 'trends: hour or day (default day)',
};

function queryParameters(schema: z.ZodMiniObject) {
  return Object.entries(schema.def.shape).map(([name, field]) => {
    const optional = (field as Schema)._zod.def.type === 'optional';
    return { name, in: 'query', required: !optional, description: PARAM_DOCS[name] ?? name, schema: parameterSchema(field as Schema) };
  });
}

function pathParameters(path: string) {
  return [...path.matchAll(/\{([a-z_]+)\}/g)].map(([, name]) => ({ name: name!, in: 'path', required: true, schema: { type: 'string' } }));
}

function security(route: RouteDefinition) {
  if (!route.scope) return [];
  return [{ apiKey: [route.scope, ...(route.alsoRequires ? [route.alsoRequires] : [])] }];
}

const PROBLEM_TITLES: Record<number, string> = {
  400: 'Invalid request: every bad field is listed in `errors`', 401: 'Missing or invalid API key (or webhook signature)',
  403: 'The key lacks the scope', 404: 'Not found (another org\'s resource is also 404)', 409: 'Conflict: the same idempotency key with different content (idempotency-conflict); for an unmerge, a lead not merged into the one named (not-merged) or a family being erased (erasure-running)',
  413: 'Body too large', 415: 'Not JSON, or a compressed body (content-encoding)', 429: 'The org is over its rate limit (rate-limited): retry after Retry-After seconds; batch events (POST /v1/events/batch) to go faster', 503: 'A dependency is briefly unavailable, or the request ran out of time and its work was stopped (request-timeout); retry (Retry-After)',
};

function operationOf(route: RouteDefinition, op: Operation) {
  const { id } = op;
  const responses: Record<string, unknown> = {};
  for (const success of op.success) {
    const headers = success.headers ? Object.fromEntries(Object.entries(success.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }])) : undefined;
    const content = success.body === 'bytes'
      ? { '*/*': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } }
      : success.body ? { 'application/json': { schema: named(success.body, `${pascal(id)}${success.status}`), ...(success.example !== undefined ? { example: success.example } : {}) } } : undefined;
    responses[String(success.status)] = { description: success.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
  }
  const keyed = route.scope !== undefined;
  const problems = new Set([400, ...(keyed ? [401, 403] : []), ...(route.handler === 'webhooks' && !keyed ? [401] : []), ...(isRateLimited(route) ? [429] : []), 503, ...(op.problems ?? [])]);
  for (const status of [...problems].sort()) responses[String(status)] = { $ref: `#/components/responses/Problem${status}` };
  responses.default = { $ref: '#/components/responses/ProblemDefault' };
  const parameters = [...pathParameters(route.path), ...(op.query ? queryParameters(op.query) : [])];
  if (route.method === 'POST' && route.path.startsWith('/v1/events')) {
    parameters.push({ name: 'Idempotency-Key', in: 'header', required: false, description: 'Plays the role of external_event_id for a client without one', schema: { type: 'string' } } as never);
  }
  return {
    operationId: id,
    summary: op.summary,
    description: op.description,
    tags: [op.tag],
    ...(parameters.length ? { parameters } : {}),
    ...(op.body ? {
      requestBody: {
        required: true,
        content: { 'application/json': { schema: named(op.body.schema, `${pascal(id)}Request`), ...(op.body.example !== undefined ? { example: op.body.example } : {}) } },
      },
    } : {}),
    responses,
    security: security(route),
  };
}

const pascal = (id: string) => id.charAt(0).toUpperCase() + id.slice(1);

function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: REF('Problem') } } };
}

let built: Record<string, unknown> | undefined;

/** The OpenAPI 3.1 document (built once per process). */
export function openApiDocument(): Record<string, unknown> {
  if (built) return built;
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const op = (OPERATIONS as Record<string, Operation | undefined>)[routeKey(route)];
    if (!op) continue; // the console's pages
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operationOf(route, op);
  }
  // Requests are shown as clients send them (the input side of each zod schema), responses as the API answers.
  const convert = (io: 'input' | 'output') => (z.toJSONSchema(registry, { io, target: 'draft-2020-12', unrepresentable: 'any', uri: (id: string) => `#/components/schemas/${id}` }) as { schemas: Record<string, Record<string, unknown>> }).schemas;
  const inputs = convert('input');
  const schemas = convert('output');
  for (const id of Object.keys(schemas)) if (id === 'EventInput' || id.endsWith('Request')) schemas[id] = inputs[id]!;
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id; // zod names each by its URI; a component is named by its key
  }
  built = {
    openapi: '3.1.0',
    info: {
      title: 'leadlog API',
      version: '1.1.0',
      description: 'The flight recorder of a lead operation: every purchase, form, conversation signal and lead-processing step as one immutable event on the lead\'s timeline. Errors are RFC 9457 problem+json; every response carries x-request-id.',
      contact: { name: 'leadlog', url: 'https://leadlog.dev' },
      license: { name: 'UNLICENSED', identifier: 'UNLICENSED' },
    },
    servers: [{ url: '/', description: 'This deployment (the same origin as the console)' }],
    tags: [
      { name: 'Events', description: 'Storing and reading events' }, { name: 'Leads', description: 'Leads, identities and timelines' },
      { name: 'Webhooks', description: 'Provider deliveries' }, { name: 'Settings', description: 'Per-org settings' },
      { name: 'Privacy', description: 'Audit trail and erasure' }, { name: 'Service', description: 'Liveness and this description' },
      { name: 'Proof of record', description: 'The signed Merkle log of each org (RFC 9162): proofs, checkpoints, evidence bundles' },
    ],
    paths,
    components: {
      schemas,
      responses: {
        ...Object.fromEntries(Object.entries(PROBLEM_TITLES).map(([status, title]) => [`Problem${status}`, problemResponse(title)])),
        ProblemDefault: problemResponse('Any other problem (405 with Allow, 429 throttled by the API stage, …), as problem+json'),
      },
      securitySchemes: {
        apiKey: {
          type: 'http', scheme: 'bearer',
          description: 'An API key of one org: `Authorization: Bearer <key>`. A key holds scopes; an operation\'s security requirement lists the ones it needs (admin holds every scope).',
        },
      },
    },
  };
  return built;
}
