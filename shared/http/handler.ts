import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { NotFoundError } from '../domain/errors.js';
import type { Viewer } from '../domain/queries.js';
import { authorize, httpEnvelope, jsonBody, type Caller, type HttpContext, type HttpEvent, type HttpResult, type RequestState } from './middleware.js';

export type RouteHandler = (event: HttpEvent, state: RequestState) => Promise<HttpResult>;

export function createLogger(handlerName: string): Logger {
  return new Logger({ serviceName: 'leadlog', persistentKeys: { handler: handlerName } });
}

/**
 * A Lambda entry point for some routes of the route table: the same middleware stack for all of them
 * (logging context, request id + problem mapping, scope check, body parsing), then the route's handler.
 */
export function createHttpHandler(handlerName: string, handlers: Record<string, RouteHandler>, logger = createLogger(handlerName)) {
  return middy<HttpEvent, HttpResult, Error, HttpContext>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(httpEnvelope(logger))
    .use(authorize())
    .use(jsonBody())
    .handler(async (event, context) => {
      const handle = handlers[event.routeKey];
      if (!handle) throw new NotFoundError(`No route for ${event.routeKey}.`);
      return handle(event, context.leadlog);
    });
}

export function callerOf(state: RequestState): Caller {
  if (!state.caller) throw new Error('route without a scope has no caller');
  return state.caller;
}

export function viewerOf(state: RequestState): Viewer {
  const caller = callerOf(state);
  return { orgId: caller.orgId, canSeePii: caller.scopes.includes('pii:read') || caller.scopes.includes('admin') };
}
