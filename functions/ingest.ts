import { withPseudonymKey, defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { checkIdempotencyKey, ingestBatch, ingestEvent } from '../shared/domain/ingest.js';
import { builtOnFirstCall, callerOf, createHttpHandler, createLogger, logItemFault } from '../shared/http/handler.js';
import { header, json, type HttpEvent, type RequestState } from '../shared/http/middleware.js';
import { batchResultOf, problemOf } from '../shared/http/problem.js';
import { ingestLeadConduitEvents, type LeadConduitItemResult } from '../shared/domain/leadconduit/ingest.js';
import { ValidationError } from '../shared/domain/errors.js';

/** At most this many LeadConduit events per request (section 12: a `GET /events` page of 1,000 is posted in chunks of 100). */
export const MAX_LEADCONDUIT_EVENTS_PER_REQUEST = 100;

/** The body of POST /v1/integrations/leadconduit/events as a list of objects: one event, or an array of 1..100. */
function leadconduitObjects(body: unknown): unknown[] {
  if (Array.isArray(body)) {
    if (body.length === 0) throw new ValidationError([{ path: '', message: 'must hold at least one LeadConduit event' }]);
    if (body.length > MAX_LEADCONDUIT_EVENTS_PER_REQUEST) {
      throw new ValidationError([{ path: '', message: `must hold at most ${MAX_LEADCONDUIT_EVENTS_PER_REQUEST} LeadConduit events (got ${body.length}): post a larger page in chunks` }]);
    }
    return body;
  }
  if (body !== null && typeof body === 'object') return [body];
  throw new ValidationError([{ path: '', message: 'must be a LeadConduit event object or an array of up to 100 of them' }]);
}

const leadconduitResult = (result: LeadConduitItemResult) => ({
  index: result.index, status: result.status, ...(result.id ? { id: result.id } : {}),
  ...(result.problem ? { problem: problemOf(result.problem) } : result.status === 'error' ? { problem: problemOf(result.fault) } : {}),
});

/**
 * POST /v1/events and POST /v1/events/batch: created 201; a duplicate 200 + Idempotent-Replayed; a conflict 409.
 * POST /v1/integrations/leadconduit/events: LeadConduit's own events (section 12), 200 with one result per event.
 */
export function createIngestHandler(deps: Dependencies) {
  const logger = createLogger('ingest');
  const context = (event: HttpEvent, state: RequestState) => {
    const idempotencyKey = checkIdempotencyKey(header(event, 'idempotency-key'));
    return { orgId: callerOf(state).orgId, now: deps.clock.now(), identities: deps.identities, identityRules: deps.identityRules, admission: deps.eventLimiter, ...(idempotencyKey ? { idempotencyKey } : {}) };
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
    'POST /v1/integrations/leadconduit/events': async (_event, state) => {
      const objects = leadconduitObjects(state.body);
      const results = await ingestLeadConduitEvents(deps, callerOf(state).orgId, objects, 'api', deps.clock.now(), {
        onFault: (error, index) => logItemFault(logger, error, index),
      });
      return json(200, { results: results.map(leadconduitResult) });
    },
  }, { logger, limiter: () => deps.rateLimiter });
}

// withPseudonymKey: the seal of each event written (proof of record) is derived from the pseudonym secret.
export const handler = withPseudonymKey('ingest', builtOnFirstCall(() => createIngestHandler(defaultDependencies('ingest'))));
