import { describe, expect, it } from 'vitest';
import { routes } from '../../shared/definitions/routes.js';
import { MethodNotAllowedError, NotFoundError } from '../../shared/domain/errors.js';
import { createHttpHandler } from '../../shared/http/handler.js';
import { json } from '../../shared/http/middleware.js';
import { allowedMethods, matchRoute, noRouteError } from '../../shared/http/routing.js';

describe('routing', () => {
  it('matches every route of the table, literal paths before templated ones', () => {
    for (const route of routes) {
      const path = route.path.replace(/\{[a-z_]+\}/g, 'x1');
      expect(matchRoute(route.method, path)?.route, `${route.method} ${path}`).toBe(route);
    }
    expect(matchRoute('POST', '/v1/events/batch')?.route.path).toBe('/v1/events/batch');
    expect(matchRoute('GET', '/v1/events/abc')?.pathParameters).toEqual({ id: 'abc' });
  });

  it('answers 405 with Allow on a known path, 404 elsewhere', () => {
    expect(allowedMethods('/v1/events')).toEqual(['GET', 'POST']);
    const wrongMethod = noRouteError('DELETE', '/v1/events');
    expect(wrongMethod).toBeInstanceOf(MethodNotAllowedError);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, POST');
    expect(noRouteError('GET', '/v1/webhooks/stripe/org_a').headers.allow).toBe('POST');
    expect(noRouteError('PUT', '/v1/leads/lead_1').headers.allow).toBe('DELETE, GET');
    expect(noRouteError('DELETE', '/v1/leads/lead_1/events').headers.allow).toBe('GET');
    expect(noRouteError('GET', '/v2/nothing')).toBeInstanceOf(NotFoundError);
  });

  it("types each handler's routes from the route table", () => {
    const ok = async () => json(200, {});
    // The compiler rejects a misspelled route and a missing one (tsc runs before the tests).
    // @ts-expect-error 'POST /v1/event' is not a route of the ingest handler
    createHttpHandler('ingest', { 'POST /v1/event': ok, 'POST /v1/events/batch': ok });
    // @ts-expect-error 'POST /v1/events/batch' is missing
    createHttpHandler('ingest', { 'POST /v1/events': ok });
    expect(typeof createHttpHandler('health', { 'GET /v1/health': ok })).toBe('function');
  });
});
