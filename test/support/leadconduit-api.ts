import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { leadconduitEventValidator, leadconduitFixtures } from '../fixtures/leadconduit/validator.js';

/**
 * A local stand-in of LeadConduit's `GET /events`, as its OpenAPI document says (activeprospect/kb openapi/openapi.yaml,
 * paths./events; the Event schema vendored in test/fixtures/leadconduit/) and as the Singer tap
 * MeltanoLabs/tap-activeprospect met the live API:
 * - HTTP Basic, the API key as password (the document names user `API`; the live API takes any user name, the tap
 *   sends `x`): a wrong or missing key → 401 `{"error":"not authorized"}` (components.schemas.NotAuthorized).
 * - Without `Accept: application/json` → 403 `{"error":"misconfigured csrf: check Accept header is set properly"}`
 *   (checked before the key, as the live API's CSRF guard is).
 * - `after_id`/`before_id` exclusive 24-hex ids, `start`/`end` (date-time, inclusive, on the time in the id: an
 *   ObjectId's creation second), `limit` 1..1000 (default 100), `sort` asc|desc (default desc) by id; the answer is a
 *   bare JSON array. A malformed parameter → 400 `{"error": …}`.
 * - Ids only roughly ordered by time: ids are ObjectIds (seconds, 5 bytes of the writing process, a counter), several
 *   writer processes, and an event can be published late with an id earlier than ones already served.
 * Every event served is checked with ajv against LeadConduit's Event schema (test/fixtures/leadconduit/validator.ts,
 * the vendored schema with its documented errata): an event the schema refuses is never served (publish throws; a
 * response that would carry one is a 500 and `drift` lists it), so the stand-in cannot drift from LeadConduit's
 * format. It can be told to fail a coming request (drop the connection, 500, 429/503 with Retry-After).
 */

/** Why an object is not a LeadConduit event (the Event schema's first errors), or undefined when it is one. */
export function validateLeadConduitEvent(event: unknown): string | undefined {
  const validate = leadconduitEventValidator();
  return validate(event) ? undefined : JSON.stringify(validate.errors?.slice(0, 3)).slice(0, 1000);
}

// ── Ids ─────────────────────────────────────────────────────────────────────────────────────────────────

let counter = 0x3a0f12;
/** A BSON ObjectId as a LeadConduit writer makes it: 4 bytes of seconds, 5 bytes naming the writer, a 3-byte counter. */
export function objectIdAt(ms: number, writer = 0): string {
  counter = (counter + 1) % 0x1000000;
  const seconds = Math.floor(ms / 1000).toString(16).padStart(8, '0');
  const process = (0x5f00000000 + writer * 0x0101010101).toString(16).slice(-10).padStart(10, '0');
  return `${seconds}${process}${counter.toString(16).padStart(6, '0')}`;
}

// ── Events from the fixtures ────────────────────────────────────────────────────────────────────────────

/** Every LeadConduit event fixture (test/fixtures/leadconduit/*.json), each checked against the Event schema. */
export function leadConduitFixtureEvents(): Record<string, unknown>[] {
  const events = Object.values(leadconduitFixtures());
  for (const event of events) {
    const problem = validateLeadConduitEvent(event);
    if (problem) throw new Error(`a LeadConduit fixture does not match the Event schema: ${problem}`);
  }
  return events;
}

/** Replaces every occurrence of the strings in `renames` anywhere in `value` (ids nested in vars, feedback links, …). */
function renamed(value: unknown, renames: Map<string, string>): unknown {
  if (typeof value === 'string') return renames.get(value) ?? value;
  if (Array.isArray(value)) return value.map((item) => renamed(item, renames));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renamed(v, renames)]));
  return value;
}

/**
 * `count` events made from the fixtures (round robin), each a new event: its own id (created at `startMs + i *
 * stepMs`, by one of `writers` writer processes) and its timestamps moved to its creation. Each round through the
 * fixtures is its own set of leads (new lead ids, each lead's e-mail its own, phones left out), so no two leads share an
 * identity and none merge. Each event is checked against the Event schema.
 */
export function generateLeadConduitEvents(count: number, options: { startMs: number; stepMs?: number; writers?: number; fixtures?: Record<string, unknown>[] }): Record<string, unknown>[] {
  const fixtures = options.fixtures ?? leadConduitFixtureEvents();
  const leads = new Map<string, string>();
  const events: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const fixture = fixtures[i % fixtures.length]!;
    const round = Math.floor(i / fixtures.length);
    const createdMs = options.startMs + i * (options.stepMs ?? 1000);
    const id = objectIdAt(createdMs, i % (options.writers ?? 1));
    const renames = new Map<string, string>([[fixture.id as string, id]]);
    const leadId = leadIdOf(fixture);
    if (leadId) {
      if (!leads.has(`${round}:${leadId}`)) leads.set(`${round}:${leadId}`, objectIdAt(options.startMs + round, 9));
      renames.set(leadId, leads.get(`${round}:${leadId}`)!);
    }
    const event = renamed(fixture, renames) as Record<string, unknown>;
    const lead = (event.vars as Record<string, unknown> | undefined)?.lead as Record<string, unknown> | undefined;
    if (lead) {
      for (const key of Object.keys(lead)) if (/^phone_\d$/.test(key)) delete lead[key];
      const email = lead.email as Record<string, unknown> | undefined;
      if (email && typeof email.normal === 'string') {
        const tag = `r${round}.${(leadId ? renames.get(leadId)! : id).slice(-6)}.`;
        for (const field of ['normal', 'raw'] as const) if (typeof email[field] === 'string') email[field] = `${tag}${email[field] as string}`;
        if (typeof email.user === 'string') email.user = `${tag}${email.user}`;
      }
    }
    const shift = createdMs - (typeof fixture.start_timestamp === 'number' ? fixture.start_timestamp : createdMs);
    for (const field of ['start_timestamp', 'end_timestamp'] as const) if (typeof event[field] === 'number') event[field] = (event[field] as number) + shift;
    const problem = validateLeadConduitEvent(event);
    if (problem) throw new Error(`a generated LeadConduit event does not match the Event schema: ${problem}`);
    events.push(event);
  }
  return events;
}

/** The lead id of an event: `vars.lead.id` (nested, as LeadConduit sends it) or `vars['lead.id']` (dotted). */
export function leadIdOf(event: Record<string, unknown>): string | undefined {
  const vars = event.vars as Record<string, unknown> | undefined;
  const lead = vars?.lead as Record<string, unknown> | undefined;
  const id = lead?.id ?? vars?.['lead.id'];
  return typeof id === 'string' ? id : undefined;
}

// ── The server ──────────────────────────────────────────────────────────────────────────────────────────

const ID = /^[0-9a-fA-F]{24}$/;
const idSeconds = (id: string) => parseInt(id.slice(0, 8), 16);

export type Failure = 'drop' | 500 | { status: 429 | 503; retryAfter?: string };

export interface LeadConduitStandIn {
  url: string;
  apiKey: string;
  /** Makes events visible from now on (LeadConduit stored them); each is checked against the Event schema first. */
  publish(events: Record<string, unknown>[]): void;
  /** The requests to /events so far: their query, the answer's status and how many events it carried. */
  requests: { query: Record<string, string>; status: number; events: number; accept: string | undefined }[];
  /** The `n`-th coming /events request (1: the next) fails so; the others are answered. */
  failRequest(n: number, how: Failure): void;
  /** Events a response would have carried that the Event schema refuses (empty unless the stand-in drifted). */
  drift: string[];
  close(): Promise<void>;
}

const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(body));
};

export async function startLeadConduitApi(options: { apiKey?: string } = {}): Promise<LeadConduitStandIn> {
  const apiKey = options.apiKey ?? '1f1b96c9150d8050e858c043d543bb4eadae0e6f';
  const visible: Record<string, unknown>[] = [];
  const requests: LeadConduitStandIn['requests'] = [];
  const drift: string[] = [];
  const failures = new Map<number, Failure>();
  let seen = 0;

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? '/', 'http://stand-in');
    if (request.method !== 'GET' || url.pathname !== '/events') return send(response, 404, { error: 'not found' });
    const query = Object.fromEntries(url.searchParams);
    const record = (status: number, events = 0) => requests.push({ query, status, events, accept: request.headers.accept });
    const failure = failures.get(++seen);
    if (failure === 'drop') {
      record(0);
      request.socket.destroy();
      return;
    }
    if (failure === 500) {
      record(500);
      return send(response, 500, { error: 'internal server error' });
    }
    if (failure) {
      record(failure.status);
      return send(response, failure.status, { error: 'too many requests' }, failure.retryAfter ? { 'retry-after': failure.retryAfter } : {});
    }
    if (!(request.headers.accept ?? '').split(',').some((type) => /^\s*application\/json\s*(;|$)/i.test(type))) {
      record(403);
      return send(response, 403, { error: 'misconfigured csrf: check Accept header is set properly' });
    }
    const [scheme, encoded] = (request.headers.authorization ?? '').split(' ');
    const password = scheme?.toLowerCase() === 'basic' && encoded ? Buffer.from(encoded, 'base64').toString('utf8').split(':').slice(1).join(':') : undefined;
    if (password !== apiKey) {
      record(401);
      return send(response, 401, { error: 'not authorized' }, { 'www-authenticate': 'Basic realm="LeadConduit"' });
    }
    const problems: string[] = [];
    for (const name of ['after_id', 'before_id'] as const) if (query[name] !== undefined && !ID.test(query[name]!)) problems.push(`${name} must be a 24 character hex id`);
    const time = (name: 'start' | 'end') => {
      if (query[name] === undefined) return undefined;
      const ms = /^\d{4}-\d{2}-\d{2}T/.test(query[name]!) ? Date.parse(query[name]!) : Number.NaN;
      if (Number.isNaN(ms)) problems.push(`${name} must be a date-time`);
      return ms;
    };
    const [startMs, endMs] = [time('start'), time('end')];
    const limit = query.limit === undefined ? 100 : /^\d+$/.test(query.limit) ? Number(query.limit) : Number.NaN;
    if (!(limit >= 1 && limit <= 1000)) problems.push('limit must be an integer from 1 to 1000');
    const sort = query.sort ?? 'desc';
    if (sort !== 'asc' && sort !== 'desc') problems.push('sort must be asc or desc');
    if (problems.length > 0) {
      record(400);
      return send(response, 400, { error: problems.join('; ') });
    }
    const afterId = query.after_id?.toLowerCase();
    const beforeId = query.before_id?.toLowerCase();
    const page = visible
      .filter((event) => {
        const id = (event.id as string).toLowerCase();
        const createdMs = idSeconds(id) * 1000;
        return (afterId === undefined || id > afterId) && (beforeId === undefined || id < beforeId)
          && (startMs === undefined || createdMs >= Math.floor(startMs / 1000) * 1000) && (endMs === undefined || createdMs <= endMs);
      })
      .sort((a, b) => ((a.id as string).toLowerCase() < (b.id as string).toLowerCase() ? -1 : 1) * (sort === 'asc' ? 1 : -1))
      .slice(0, limit);
    const refused = page.map(validateLeadConduitEvent).filter((problem): problem is string => problem !== undefined);
    if (refused.length > 0) {
      drift.push(...refused);
      record(500);
      return send(response, 500, { error: 'the stand-in drifted from the Event schema' });
    }
    record(200, page.length);
    send(response, 200, page);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    apiKey,
    requests,
    drift,
    publish(events) {
      for (const event of events) {
        const problem = validateLeadConduitEvent(event);
        if (problem) throw new Error(`not a LeadConduit event (Event schema): ${problem}`);
      }
      visible.push(...events.map((event) => structuredClone(event)));
    },
    failRequest(n, how) {
      failures.set(seen + n, how);
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
