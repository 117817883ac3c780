import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { HandlerName, RateLimitedHandler, RouteKey } from '../definitions/routes.js';
import type { MaskOptions } from '../domain/masking.js';
import type { Viewer } from '../domain/queries.js';
import { RequestTimeoutError, ServiceUnavailableError } from '../domain/errors.js';
import { systemClock, type AuditLog, type Clock } from '../domain/ports.js';
import type { RateLimiter } from '../domain/rate-limit.js';
import { auditTrail, authorize, httpEnvelope, jsonBody, rateLimit, type Caller, type HttpContext, type HttpEvent, type HttpResult, type RequestState } from './middleware.js';

export type RouteHandler = (event: HttpEvent, state: RequestState) => Promise<HttpResult>;

export function createLogger(handlerName: string): Logger {
  return new Logger({ serviceName: 'leadlog', persistentKeys: { handler: handlerName } });
}

/**
 * One batch item's fault (its `error` result), logged as the envelope logs a request's: a dependency busy for now is
 * one WARN line with its cause; anything unexpected is an ERROR with the error's name and stack frames, never its
 * message (it may quote a value of the item).
 */
export function logItemFault(logger: Logger, error: unknown, index: number): void {
  if (error instanceof ServiceUnavailableError) {
    const cause = (error as Error & { cause?: { name?: string; code?: string } }).cause;
    logger.warn('dependency unavailable', { batch_item: index, status: 503, cause: cause?.name ?? cause?.code });
    return;
  }
  const e = error as { name?: unknown; stack?: unknown } | null;
  const frames = typeof e?.stack === 'string' ? e.stack.split('\n').filter((line) => /^\s+at /.test(line)).join('\n') : undefined;
  logger.error('batch item failed', { batch_item: index, status: 500, error_name: typeof e?.name === 'string' ? e.name : typeof error, frames });
}

/** A handler serving a rate-limited route (RateLimitedHandler) must be given the limiter: the compiler checks it. */
export type HttpHandlerOptions<H extends HandlerName> = { logger?: Logger; audit?: () => AuditLog; clock?: Clock }
  & (H extends RateLimitedHandler ? { limiter: () => RateLimiter } : { limiter?: undefined });

/**
 * A Lambda entry point for the routes of one handler module in the route table: the same middleware stack
 * for all of them (logging context, request id + problem mapping, scope check, the org's rate limit, body
 * parsing), then the route's handler. `handlers` must name exactly the handler's routes (the compiler checks it).
 */
export function createHttpHandler<H extends HandlerName>(
  handlerName: H, handlers: { [K in RouteKey<H>]: RouteHandler },
  ...given: H extends RateLimitedHandler ? [HttpHandlerOptions<H>] : [HttpHandlerOptions<H>?]
) {
  const options: { logger?: Logger; audit?: () => AuditLog; clock?: Clock; limiter?: (() => RateLimiter) | undefined } = given[0] ?? {};
  const byRouteKey: Record<string, RouteHandler | undefined> = handlers;
  const logger = options.logger ?? createLogger(handlerName);
  // middy's own early timeout is off: its AbortSignal is shared by every request in flight in the process (locally
  // many at once), so one request's timeout would abort the others'. withDeadline gives each request its own.
  const stack = middy<HttpEvent, HttpResult, Error, HttpContext>({ timeoutEarlyInMillis: 0 })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpEnvelope(logger));
  if (options.audit) stack.use(auditTrail(options.audit, () => (options.clock ?? systemClock).now()));
  stack.use(authorize());
  if (options.limiter) stack.use(rateLimit(options.limiter, logger));
  return stack
    .use(jsonBody())
    .handler(async (event, context) => {
      const handle = byRouteKey[event.routeKey];
      // The route table routes each key to one module: another module's route here is a deployment fault.
      if (!handle) throw new Error(`route ${event.routeKey} is not served by the ${handlerName} function`);
      // When the deadline fires (epoch ms), for work that answers before it (a report's 202 + run).
      const remaining = context.getRemainingTimeInMillis?.();
      const deadlineAt = remaining !== undefined && Number.isFinite(remaining) ? Date.now() + Math.max(remaining - DEADLINE_MARGIN_MS, 0) : undefined;
      return withDeadline(context, (signal) => handle(event, Object.assign(context.leadlog, { signal, deadlineAt })));
    });
}

/** Time kept back from the invocation's remaining time to answer (and flush logs) once a request's work is stopped. */
export const DEADLINE_MARGIN_MS = 1_000;

/**
 * Runs a request's work under its deadline: the invocation's remaining time (Lambda's; locally the server's request
 * timeout) less DEADLINE_MARGIN_MS. When it passes, the work's AbortSignal fires with a RequestTimeoutError (so the
 * loops given the signal stop at their next step, and reads in flight are abandoned) and the request answers that
 * error (503 problem+json, Retry-After) at once, whatever the work is still awaiting. Without a known deadline (a
 * handler called directly), the work runs unbounded.
 */
export async function withDeadline<T>(context: { getRemainingTimeInMillis?: () => number }, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const remaining = context.getRemainingTimeInMillis?.();
  if (remaining === undefined || !Number.isFinite(remaining)) return work(controller.signal);
  const budget = Math.max(remaining - DEADLINE_MARGIN_MS, 0);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new RequestTimeoutError(budget);
      controller.abort(error);
      reject(error);
    }, budget);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export function callerOf(state: RequestState): Caller {
  if (!state.caller) throw new Error('route without a scope has no caller');
  return state.caller;
}

export function viewerOf(state: RequestState): Viewer {
  const caller = callerOf(state);
  return { orgId: caller.orgId, canSeePii: caller.scopes.includes('pii:read') || caller.scopes.includes('admin') };
}

/** The caller as a reader: with its org's masking options (its own PII key names) when it may not see PII. */
export async function readerOf(state: RequestState, maskOptions: (orgId: string) => Promise<MaskOptions>): Promise<Viewer> {
  const viewer = viewerOf(state);
  return viewer.canSeePii ? viewer : { ...viewer, mask: await maskOptions(viewer.orgId) };
}

/**
 * One lazy-dependency pattern for every Lambda entry (HTTP, authorizer, stream): the handler and its
 * dependencies are built on the first invocation, not at import, so importing a function module never
 * needs the environment to be set.
 */
export function builtOnFirstCall<A extends unknown[], R>(build: () => (...args: A) => R): (...args: A) => R {
  let built: ((...args: A) => R) | undefined;
  return (...args: A) => (built ??= build())(...args);
}
