import { defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { checkIdempotencyKey, ingestBatch, ingestEvent, type IngestResult } from '../shared/domain/ingest.js';
import { callerOf, createHttpHandler } from '../shared/http/handler.js';
import { header, json, type HttpEvent, type RequestState } from '../shared/http/middleware.js';
import { problemOf } from '../shared/http/problem.js';

/** POST /v1/events and POST /v1/events/batch. */
export function createIngestHandler(deps: Dependencies) {
  const context = (event: HttpEvent, state: RequestState) => {
    const idempotencyKey = checkIdempotencyKey(header(event, 'idempotency-key'));
    return { orgId: callerOf(state).orgId, now: deps.clock.now(), ...(idempotencyKey ? { idempotencyKey } : {}) };
  };
  return createHttpHandler('ingest', {
    'POST /v1/events': async (event, state) => {
      const result = await ingestEvent(deps.events, state.body, context(event, state));
      switch (result.status) {
        case 'created':
          return json(201, { event: result.event }, { location: `/v1/events/${result.event.id}` });
        case 'duplicate':
          return json(200, { event: result.event }, { 'idempotent-replayed': 'true', location: `/v1/events/${result.event.id}` });
        default:
          throw result.error;
      }
    },
    'POST /v1/events/batch': async (event, state) => {
      const results = await ingestBatch(deps.events, state.body, context(event, state));
      return json(200, { results: results.map(toBatchResult) });
    },
  });
}

function toBatchResult(result: IngestResult, index: number) {
  switch (result.status) {
    case 'created':
    case 'duplicate':
      return { index, status: result.status, id: result.event.id };
    case 'conflict':
      return { index, status: result.status, id: result.id, problem: problemOf(result.error) };
    case 'invalid':
      return { index, status: result.status, problem: problemOf(result.error) };
  }
}

export const handler = createIngestHandler(defaultDependencies());
