/**
 * The route table, defined once: CDK turns it into HTTP API routes (infra/constructs/api.ts) and the local
 * server matches requests against it (infra/local/http-server.ts). Each route names its Lambda handler
 * module in functions/ and the scope its caller's key must hold.
 */
export const SCOPES = ['events:write', 'events:read', 'pii:read', 'admin'] as const;
export type Scope = (typeof SCOPES)[number];

/** The Lambda handler modules behind the HTTP API (functions/<name>.ts). */
export const HANDLER_NAMES = ['ingest', 'query', 'health', 'webhooks', 'admin', 'console', 'exports', 'replays', 'proofs'] as const;
export type HandlerName = (typeof HANDLER_NAMES)[number];
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

export interface RouteDefinition {
  method: HttpMethod;
  path: string;
  handler: HandlerName;
  /** undefined: no API key (health; webhooks authenticate by the provider's signature). */
  scope?: Scope;
  /** A second scope the key must also hold (admin holds every scope). */
  alsoRequires?: Scope;
  /** Request body limit enforced by the handler (API Gateway itself allows 10 MB). */
  maxBodyBytes?: number;
  /** 'raw': the handler gets the bytes unparsed (webhooks verify signatures on them before any JSON parsing). */
  body?: 'json' | 'raw';
  /**
   * Recorded in the audit trail after a 2xx (section 9): 'pii.read' only when the key may see PII (the answer then
   * carried it unmasked); the other actions always.
   */
  audit?: AuditAction;
  /**
   * A route-level throttle at the API stage (requests/s and burst), below the stage's default: the public routes,
   * which no API key limits, cannot use up the account's Lambda concurrency.
   */
  throttle?: { rateLimit: number; burstLimit: number };
  /**
   * The org's rate limit (shared/domain/rate-limit.ts) applies to every route with a scope, once the key's org is
   * known. 'after-signature': a route without a key whose org is known only once the provider's signature is
   * verified (webhooks), so unsigned requests to an org's URL never spend its tokens. Other routes without a scope
   * (health, the console, the API description) are not limited.
   */
  rateLimit?: 'after-signature';
}

/** 'lead.lookup': a lookup by e-mail, phone or ref, recorded whatever the key (a guess confirmed is a disclosure). */
export type AuditAction = 'pii.read' | 'settings.update' | 'webhooks.remap' | 'lead.erase' | 'lead.unmerge' | 'lead.lookup';

export const KB = 1024;

/** API Gateway caches the authorizer's answer per Authorization header this long (a revoked key lives on that long). */
export const AUTHORIZER_CACHE_SECONDS = 60;

const ROUTE_TABLE = [
  { method: 'POST', path: '/v1/events', handler: 'ingest', scope: 'events:write', maxBodyBytes: 256 * KB },
  { method: 'POST', path: '/v1/events/batch', handler: 'ingest', scope: 'events:write', maxBodyBytes: 1024 * KB },
  { method: 'GET', path: '/v1/events', handler: 'query', scope: 'events:read', audit: 'pii.read' },
  { method: 'GET', path: '/v1/events/{id}', handler: 'query', scope: 'events:read', audit: 'pii.read' },
  { method: 'GET', path: '/v1/events/{id}/raw', handler: 'query', scope: 'events:read', alsoRequires: 'pii:read', audit: 'pii.read' },
  { method: 'GET', path: '/v1/leads/{lead_id}/events', handler: 'query', scope: 'events:read', audit: 'pii.read' },
  { method: 'GET', path: '/v1/flows/{flow_id}/events', handler: 'query', scope: 'events:read', audit: 'pii.read' },
  { method: 'GET', path: '/v1/leads/{lead_id}', handler: 'query', scope: 'events:read', audit: 'pii.read' },
  { method: 'GET', path: '/v1/leads', handler: 'query', scope: 'events:read', audit: 'lead.lookup' },
  { method: 'GET', path: '/v1/alerts', handler: 'query', scope: 'events:read' },
  // Proof of record (section 14): proofs against the org's signed checkpoints; the public key for anyone to verify with.
  { method: 'GET', path: '/v1/events/{id}/proof', handler: 'proofs', scope: 'events:read' },
  { method: 'GET', path: '/v1/proofs/checkpoints', handler: 'proofs', scope: 'events:read' },
  { method: 'GET', path: '/v1/proofs/consistency', handler: 'proofs', scope: 'events:read' },
  { method: 'GET', path: '/v1/proofs/public-key', handler: 'proofs', throttle: { rateLimit: 20, burstLimit: 40 } },
  { method: 'GET', path: '/v1/leads/{lead_id}/evidence', handler: 'proofs', scope: 'events:read', alsoRequires: 'pii:read', audit: 'pii.read' },
  // Reports (section 13): over the archive, which holds every value masked, so no answer carries PII (nothing to audit).
  { method: 'GET', path: '/v1/reports/{name}', handler: 'query', scope: 'events:read' },
  { method: 'GET', path: '/v1/reports/runs/{id}', handler: 'query', scope: 'events:read' },
  // LeadConduit's events as LeadConduit sends them (section 12): one object or an array of up to 100, each up to 1 MB.
  { method: 'POST', path: '/v1/integrations/leadconduit/events', handler: 'ingest', scope: 'events:write', maxBodyBytes: 5 * 1024 * KB },
  { method: 'GET', path: '/v1/integrations/leadconduit/status', handler: 'query', scope: 'events:read' },
  // The public webhook route is limited by the stage alone (API_STAGE_THROTTLE), not by a lower throttle shared by every
  // org: 10,000 orgs receiving a delivery a second each is section 15's target, and a shared 500/s would refuse them all
  // for one org's burst. Per org, the token bucket applies once a signature verifies; an unsigned flood costs a
  // signature check (~1 ms of Lambda), never a DynamoDB write.
  { method: 'POST', path: '/v1/webhooks/{provider}/{org_id}', handler: 'webhooks', maxBodyBytes: 1024 * KB, body: 'raw', rateLimit: 'after-signature' },
  { method: 'POST', path: '/v1/webhooks/remap', handler: 'webhooks', scope: 'admin', maxBodyBytes: 16 * KB, audit: 'webhooks.remap' },
  { method: 'GET', path: '/v1/health', handler: 'health', throttle: { rateLimit: 20, burstLimit: 40 } },
  { method: 'GET', path: '/v1/openapi.json', handler: 'console', throttle: { rateLimit: 20, burstLimit: 40 } },
  // The console's pages and assets: public (the browser asks for a key and sends it to the API routes only).
  // API Gateway routes `/console/` to `/console` too; `{proxy+}` needs at least one character.
  { method: 'GET', path: '/console', handler: 'console', throttle: { rateLimit: 50, burstLimit: 100 } },
  { method: 'GET', path: '/console/{proxy+}', handler: 'console', throttle: { rateLimit: 50, burstLimit: 100 } },
  { method: 'GET', path: '/v1/settings/privacy', handler: 'admin', scope: 'admin' },
  { method: 'PUT', path: '/v1/settings/privacy', handler: 'admin', scope: 'admin', maxBodyBytes: 16 * KB, audit: 'settings.update' },
  { method: 'GET', path: '/v1/settings/identity', handler: 'admin', scope: 'admin' },
  { method: 'PUT', path: '/v1/settings/identity', handler: 'admin', scope: 'admin', maxBodyBytes: 64 * KB, audit: 'settings.update' },
  { method: 'GET', path: '/v1/settings/limits', handler: 'admin', scope: 'admin' },
  { method: 'PUT', path: '/v1/settings/limits', handler: 'admin', scope: 'admin', maxBodyBytes: 16 * KB, audit: 'settings.update' },
  { method: 'GET', path: '/v1/audit', handler: 'admin', scope: 'admin' },
  { method: 'DELETE', path: '/v1/leads/{lead_id}', handler: 'admin', scope: 'admin', audit: 'lead.erase' },
  { method: 'POST', path: '/v1/leads/{lead_id}/unmerge', handler: 'admin', scope: 'admin', maxBodyBytes: 16 * KB, audit: 'lead.unmerge' },
  { method: 'GET', path: '/v1/erasures/{id}', handler: 'admin', scope: 'admin' },
  { method: 'POST', path: '/v1/exports', handler: 'exports', scope: 'events:read', maxBodyBytes: 16 * KB },
  { method: 'GET', path: '/v1/exports/{id}', handler: 'exports', scope: 'events:read' },
  { method: 'POST', path: '/v1/exports/schedules', handler: 'exports', scope: 'events:read', maxBodyBytes: 16 * KB },
  { method: 'GET', path: '/v1/exports/schedules', handler: 'exports', scope: 'events:read' },
  { method: 'DELETE', path: '/v1/exports/schedules/{id}', handler: 'exports', scope: 'events:read' },
  { method: 'POST', path: '/v1/replays', handler: 'replays', scope: 'admin', maxBodyBytes: 16 * KB },
  { method: 'GET', path: '/v1/replays/{id}', handler: 'replays', scope: 'admin' },
] as const satisfies readonly RouteDefinition[];

export const routes: readonly RouteDefinition[] = ROUTE_TABLE;
type Route = (typeof ROUTE_TABLE)[number];

/** Whether a route is rate-limited per org (RouteDefinition.rateLimit): every keyed route, and the signed webhooks. */
export const isRateLimited = (route: RouteDefinition): boolean => route.scope !== undefined || route.rateLimit !== undefined;

/** The handlers serving a rate-limited route: their stack must be given the limiter (the compiler checks it). */
export type RateLimitedHandler = Extract<Route, { scope: Scope } | { rateLimit: 'after-signature' }>['handler'];

/** API Gateway's route key of each route of handler `H`, e.g. 'POST /v1/events': a handler must serve exactly these. */
export type RouteKey<H extends HandlerName = HandlerName> = Route extends infer R
  ? R extends { handler: H; method: infer M extends string; path: infer P extends string } ? `${M} ${P}` : never
  : never;

/**
 * API Gateway's catch-all route key. Requests no route matches go there, to FALLBACK_HANDLER, which answers
 * 405 (known path, other method) or 404 as problem+json; the local server does the same.
 */
export const FALLBACK_ROUTE_KEY = '$default';
export const FALLBACK_HANDLER: HandlerName = 'health';

export function routeKey(route: Pick<RouteDefinition, 'method' | 'path'>): string {
  return `${route.method} ${route.path}`;
}

export function findRoute(key: string): RouteDefinition | undefined {
  return routes.find((route) => routeKey(route) === key);
}
