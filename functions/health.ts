import { createHttpHandler, builtOnFirstCall } from '../shared/http/handler.js';
import { json } from '../shared/http/middleware.js';

/**
 * GET /v1/health: liveness, no key, no dependencies touched. Also API Gateway's catch-all ($default): what no
 * route matches gets its 404 or 405 problem+json from the middleware before any handler runs.
 */
export const handler = builtOnFirstCall(() =>
  createHttpHandler('health', {
    'GET /v1/health': async () => json(200, { status: 'ok', service: 'leadlog', version: '1' }, { 'cache-control': 'no-store' }),
  }),
);
