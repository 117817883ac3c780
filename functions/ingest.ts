import { defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { checkIdempotencyKey, ingestBatch, ingestEvent } from '../shared/domain/ingest.js';
import { builtOnFirstCall, callerOf, createHttpHandler, createLogger, logItemFault } from '../shared/http/handler.js';
import { header, json, type HttpEvent, type RequestState } from '../shared/http/middleware.js';
import { batchResultOf } from '../shared/http/problem.js';

/** POST /v1/events and POST /v1/events/batch. Created 201; a duplicate 200 + Idempotent-Replayed; a conflict 409. */
export function createIngestHandler(deps: Dependencies) {
  const logger = createLogger('ingest');
  const context = (event: HttpEvent, state: RequestState) => {
    const idempotencyKey = checkIdempotencyKey(header(event, 'idempotency-key'));
    return { orgId: callerOf(state).orgId, now: deps.clock.now(), identities: deps.identities, identityRules: deps.identityRules, ...(idempotencyKey ? { idempotencyKey } : {}) };
  };
  return createHttpHandler('ingest', {
    'POST /v1/events': async (event, state) => {
      const result = await ingestEvent(deps.events, state.body, context(event, state));
      if (result.status === 'invalid' || result.status === 'conflict') throw result.error;
      const location = `/v1/events/${result.event.id}`;
      if (result.status === 'created') return json(201, { event: result.event }, { location });
      return json(200, { event: result.event }, { location, 'idempotent-replayed': 'true' });
    },
    'POST /v1/events/batch': async (event, state) => {
      // One item's fault is that item's `error` result; the others stand (the answer tells exactly what was stored).
      const results = await ingestBatch(deps.events, state.body, context(event, state), (error, index) => logItemFault(logger, error, index));
      return json(200, { results: results.map(batchResultOf) });
    },
  }, { logger, limiter: () => deps.rateLimiter });
}

export const handler = builtOnFirstCall(() => createIngestHandler(defaultDependencies('ingest')));
