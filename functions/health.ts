import { createHttpHandler } from '../shared/http/handler.js';
import { json } from '../shared/http/middleware.js';

/** GET /v1/health: liveness, no key, no dependencies touched. */
export const handler = createHttpHandler('health', {
  'GET /v1/health': async () => json(200, { status: 'ok', service: 'leadlog', version: '1' }, { 'cache-control': 'no-store' }),
});
