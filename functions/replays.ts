import { defaultDependencies, type Dependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { NotFoundError } from '../shared/domain/errors.js';
import { presentReplay, requestReplay } from '../shared/domain/replays.js';
import { builtOnFirstCall, callerOf, createHttpHandler } from '../shared/http/handler.js';
import { json } from '../shared/http/middleware.js';

const REPLAY_ID = /^rp_[0-9a-f]{32}$/;

/** Sending the record again (section 10): a dry-run count, or a job that puts the matching events on the bus again. */
export function createReplaysHandler(deps: Dependencies) {
  return createHttpHandler('replays', {
    'POST /v1/replays': async (_event, state) => {
      const ports = { events: deps.events, archive: deps.replays.archive, replays: deps.replays.store, scheduler: deps.replays.scheduler };
      const outcome = await requestReplay(ports, { orgId: callerOf(state).orgId, body: state.body, nowMs: deps.clock.now(), signal: state.signal });
      if (outcome.dryRun) return json(200, { matched: outcome.matched });
      return json(202, presentReplay(outcome.job), { location: `/v1/replays/${outcome.job.id}` });
    },
    'GET /v1/replays/{id}': async (event, state) => {
      const id = event.pathParameters?.id ?? '';
      const job = REPLAY_ID.test(id) ? await deps.replays.store.get(callerOf(state).orgId, id) : undefined;
      if (!job) throw new NotFoundError(`No replay '${id.slice(0, 100)}'.`);
      return json(200, presentReplay(job));
    },
  }, { limiter: () => deps.rateLimiter });
}

export const handler = withPseudonymKey('replays', builtOnFirstCall(() => createReplaysHandler(defaultDependencies('replays'))));
