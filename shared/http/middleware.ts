import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { findRoute, isRateLimited, type RouteDefinition, type Scope } from '../definitions/routes.js';
import {
  ForbiddenError, MalformedJsonError, PayloadTooLargeError, UnauthenticatedError, UnsupportedMediaTypeError,
  ServiceUnavailableError,
} from '../domain/errors.js';
import { JsonDepthError, parseJsonLossless } from '../domain/json.js';
import { maskError } from '../domain/masking.js';
import type { AuditLog, Log } from '../domain/ports.js';
import type { Admission, RateLimiter } from '../domain/rate-limit.js';
import { toProblem } from './problem.js';
import { decodePathParameters, noRouteError } from './routing.js';

/** What the Lambda authorizer puts in requestContext.authorizer.lambda (values must be scalars). */
export interface AuthorizerContext {
  org_id?: string;
  /** Comma-separated scopes. */
  scopes?: string;
  key_id?: string;
}

export interface Caller {
  orgId: string;
  scopes: Scope[];
  keyId: string;
}

export type HttpEvent = APIGatewayProxyEventV2 & {
  requestContext: APIGatewayProxyEventV2['requestContext'] & { authorizer?: { lambda?: AuthorizerContext } };
};
export type HttpResult = APIGatewayProxyStructuredResultV2 & { headers: Record<string, string> };

/** Per-request state the middlewares build for the handler, kept on the Lambda context. */
export interface RequestState {
  requestId: string;
  route: RouteDefinition;
  caller?: Caller;
  rawBody?: Buffer;
  body?: unknown;
  /** The audited resource when the path would name what must not be kept (an erasure names its id, not the lead). */
  auditAs?: string;
  /** The request's deadline (shared/http/handler.ts `withDeadline`): passed to every loop that may read for long. */
  signal?: AbortSignal;
  /** When `signal` fires (epoch ms; undefined without a known deadline): work that must answer before it plans by it. */
  deadlineAt?: number | undefined;
  /**
   * On a route limited 'after-signature' (webhooks): spends one of the org's tokens (429 when it has none). The
   * handler calls it once the signature is verified, never before.
   */
  admit?: (orgId: string) => Promise<void>;
  /** The request's admission by its org's rate limit: the `RateLimit-*` headers of its answer. */
  admitted?: Admission;
}
export type HttpContext = Context & { leadlog: RequestState };
type Request = { event: HttpEvent; context: HttpContext; response: HttpResult | null | undefined; error: unknown };

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const JSON_MEDIA = /^application\/(?:[a-z0-9.+-]+\+)?json$/i;

export function header(event: HttpEvent, name: string): string | undefined {
  return event.headers?.[name.toLowerCase()] ?? undefined;
}

/**
 * First in, last out: picks the request id (the caller's x-request-id if sane, else API Gateway's),
 * finds the route (API Gateway's catch-all `$default` and any unknown route key get the one 404/405 answer
 * of shared/http/routing.ts), and on the way out stamps x-request-id on every response and maps any error to
 * problem+json, once, here. Only our own faults are 5xx, and their details go to the log, not the client.
 */
export function httpEnvelope(logger: Logger): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  const stamp = (request: Request) => {
    const requestId = request.context.leadlog?.requestId ?? randomUUID();
    if (request.response) request.response.headers = { ...request.response.headers, 'x-request-id': requestId };
  };
  return {
    before: (request) => {
      const given = header(request.event, 'x-request-id');
      const requestId = given && REQUEST_ID.test(given) ? given : request.event.requestContext?.requestId || randomUUID();
      logger.appendKeys({ request_id: requestId });
      const route = findRoute(request.event.routeKey);
      request.context.leadlog = { requestId, route: route! };
      if (!route) throw noRouteError(request.event.requestContext?.http?.method ?? '', request.event.rawPath ?? '');
      // Every handler reads its path parameters decoded, once, here (shared/http/routing.ts).
      if (request.event.pathParameters) request.event.pathParameters = decodePathParameters(request.event.pathParameters);
    },
    after: (request) => stamp(request as Request),
    onError: (request) => {
      const requestId = request.context.leadlog?.requestId;
      const { problem, headers } = toProblem(request.error, requestId);
      // Expected conditions are one structured line: a client's mistake (4xx), a dependency busy for now (503 with
      // Retry-After, e.g. DynamoDB throttling under load). Only the unexpected (500) carries the error and its stack.
      if (request.error instanceof ServiceUnavailableError) {
        const cause = (request.error as Error & { cause?: { name?: string; code?: string } }).cause;
        logger.warn('dependency unavailable', { status: problem.status, type: problem.type, cause: cause?.name ?? cause?.code });
      } else if (problem.status >= 500) {
        logger.error('request failed', { error: maskError(request.error), status: problem.status }); // logs hold no unmasked value
      } else {
        logger.info('request rejected', { status: problem.status, type: problem.type });
      }
      request.response = {
        statusCode: problem.status,
        headers: { 'content-type': 'application/problem+json', ...headers },
        body: JSON.stringify(problem),
      };
      stamp(request as Request);
    },
  };
}

/** Turns the authorizer's context into a Caller, and enforces the route's scope: no key 401, wrong scope 403. */
export function authorize(): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    before: (request) => {
      const { route } = request.context.leadlog;
      if (!route.scope) return;
      const auth = request.event.requestContext.authorizer?.lambda;
      if (!auth?.org_id || !auth.key_id) throw new UnauthenticatedError();
      const scopes = (auth.scopes ?? '').split(',').filter(Boolean) as Scope[];
      request.context.leadlog.caller = { orgId: auth.org_id, scopes, keyId: auth.key_id };
      for (const scope of [route.scope, ...(route.alsoRequires ? [route.alsoRequires] : [])]) {
        if (!scopes.includes(scope) && !scopes.includes('admin')) throw new ForbiddenError(`This API key lacks the '${scope}' scope.`);
      }
    },
  };
}

/**
 * The org's rate limit (shared/domain/rate-limit.ts), applied here once for every limited route (isRateLimited):
 * a keyed route spends one token of the caller's org before its body is even read (a batch is one request); a
 * webhook gets `admit`, which it calls once the signature is verified. Over the limit: 429 + Retry-After. A 2xx
 * answer carries `RateLimit-Limit` and `RateLimit-Remaining` (the tokens left as this instance last saw them).
 */
export function rateLimit(limiter: () => RateLimiter, log: Log): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    before: async (request) => {
      const state = request.context.leadlog;
      if (!isRateLimited(state.route)) return;
      const admit = async (orgId: string) => {
        state.admitted = await limiter().admit(orgId, log);
      };
      if (state.caller) await admit(state.caller.orgId);
      else state.admit = admit;
    },
    after: (request) => {
      const { admitted } = request.context.leadlog;
      if (!admitted || !request.response) return;
      request.response.headers = {
        ...request.response.headers,
        'ratelimit-limit': String(admitted.limits.requestsPerSecond),
        'ratelimit-remaining': String(admitted.remaining),
      };
    },
  };
}

/**
 * Reads the body as the route allows: size (413) before media type (415) before UTF-8 and JSON (400).
 * The raw bytes stay available for signature checks.
 */
export function jsonBody(): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    before: (request) => {
      const state = request.context.leadlog;
      if (state.route.method === 'GET' || state.route.method === 'DELETE') return; // no body: any sent is ignored
      const { event } = request;
      const raw = event.body === undefined || event.body === null ? Buffer.alloc(0)
        : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
      const limit = state.route.maxBodyBytes ?? 256 * 1024;
      if (raw.length > limit) {
        throw new PayloadTooLargeError(`The body is ${raw.length} bytes; this endpoint accepts at most ${limit} bytes.`);
      }
      state.rawBody = raw;
      if (state.route.body === 'raw') return;
      // A compressed body is not JSON text: RFC 9110 §15.5.16 answers an unsupported content coding with 415.
      const coding = (header(event, 'content-encoding') ?? '').trim().toLowerCase();
      if (coding !== '' && coding !== 'identity') {
        throw new UnsupportedMediaTypeError(`Send the body uncompressed; content-encoding ${coding.slice(0, 50)} is not accepted.`);
      }
      const mediaType = (header(event, 'content-type') ?? '').split(';')[0]!.trim();
      if (!JSON_MEDIA.test(mediaType)) {
        throw new UnsupportedMediaTypeError(`Send the body as application/json${mediaType ? `, not ${mediaType.slice(0, 100)}` : ''}.`);
      }
      state.body = parseJsonBytes(raw);
    },
  };
}

/**
 * After a 2xx, records the route's audit action (section 9), one write, before the answer leaves: an answer
 * that carried unmasked PII is never given without its record.
 */
export function auditTrail(log: () => AuditLog, now: () => number): MiddlewareObj<HttpEvent, HttpResult, Error, HttpContext> {
  return {
    after: async (request) => {
      const { route, caller, requestId, auditAs } = request.context.leadlog;
      const status = request.response?.statusCode ?? 0;
      if (!route.audit || !caller || status < 200 || status >= 300) return;
      if (route.audit === 'pii.read' && !caller.scopes.some((scope) => scope === 'pii:read' || scope === 'admin')) return;
      await log().record(caller.orgId, { at: new Date(now()).toISOString(), key_id: caller.keyId, action: route.audit, resource: auditAs ?? auditResource(route.audit, request.event), request_id: requestId });
    },
  };
}

/**
 * What an audit entry names: the path; for a lookup, the path and the kinds it looked up by (`/v1/leads?email`),
 * never the values (the audit keeps 400 days and must not become a store of the e-mails that were tried).
 */
function auditResource(action: string, event: HttpEvent): string {
  const path = event.rawPath ?? '';
  if (action !== 'lead.lookup') return path;
  const kinds = Object.keys(event.queryStringParameters ?? {}).filter((name) => LOOKUP_KINDS.has(name)).sort();
  return kinds.length ? `${path}?${kinds.join('&')}` : path;
}
const LOOKUP_KINDS = new Set(['email', 'phone', 'ref', 'country']);

/** Strict UTF-8, then lossless JSON (no digit of a number changed): a 400 (malformed-json) for anything else. */
export function parseJsonBytes(raw: Buffer): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new MalformedJsonError('The body is not valid UTF-8.');
  }
  if (text.trim() === '') throw new MalformedJsonError('The body is empty; send a JSON object.');
  try {
    return parseJsonLossless(text);
  } catch (error) {
    if (error instanceof JsonDepthError) throw new MalformedJsonError(`The body is ${error.message}; send a shallower document.`);
    throw new MalformedJsonError(`The body is not valid JSON: ${(error as Error).message.slice(0, 200)}`);
  }
}

/** Bytes exactly as stored, base64 in the Lambda answer (API Gateway decodes them), with their own content type. */
export function bytes(statusCode: number, body: { bytes: Buffer; contentType: string }): HttpResult {
  return { statusCode, headers: { 'content-type': body.contentType, 'cache-control': 'no-store' }, body: body.bytes.toString('base64'), isBase64Encoded: true };
}

export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

