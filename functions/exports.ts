import { defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { NotFoundError } from '../shared/domain/errors.js';
import { presentExport, requestExport } from '../shared/domain/exports.js';
import { deleteSchedule, parseSchedule, presentSchedule } from '../shared/domain/export-schedules.js';
import { builtOnFirstCall, callerOf, createHttpHandler } from '../shared/http/handler.js';
import { json, type HttpEvent } from '../shared/http/middleware.js';

const EXPORT_ID = /^ex_[0-9a-f]{32}$/;

/** The API's origin as the caller reached it (API Gateway sets x-forwarded-proto; the local stand-in is plain HTTP). */
const originOf = (event: HttpEvent) => `${event.headers?.['x-forwarded-proto'] ?? 'http'}://${event.headers?.host ?? event.requestContext.domainName}`;

/** Taking the record out (section 10): exports (a job, then a download URL) and their schedules. Replays: functions/replays.ts. */
export function createExportsHandler(deps: Dependencies) {
  return createHttpHandler('exports', {
    'POST /v1/exports': async (event, state) => {
      const job = await requestExport(deps.exports, { orgId: callerOf(state).orgId, body: state.body, nowMs: deps.clock.now(), settleMs: deps.config.exportSettleSeconds * 1000 });
      return json(202, await presentExport(job, deps.exports.links, deps.clock.now(), originOf(event)), { location: `/v1/exports/${job.id}` });
    },
    'POST /v1/exports/schedules': async (_event, state) => {
      const schedule = parseSchedule(state.body, callerOf(state).orgId, deps.clock.now());
      await deps.exports.schedules.create(schedule);
      return json(201, presentSchedule(schedule), { location: `/v1/exports/schedules/${schedule.id}` });
    },
    'GET /v1/exports/schedules': async (_event, state) => json(200, { items: (await deps.exports.schedules.list(callerOf(state).orgId)).map(presentSchedule) }),
    'DELETE /v1/exports/schedules/{id}': async (event, state) => {
      await deleteSchedule(deps.exports.schedules, callerOf(state).orgId, event.pathParameters?.id ?? '');
      return { statusCode: 204, headers: {}, body: '' };
    },
    'GET /v1/exports/{id}': async (event, state) => {
      const id = event.pathParameters?.id ?? '';
      const job = EXPORT_ID.test(id) ? await deps.exports.store.get(callerOf(state).orgId, id) : undefined;
      if (!job) throw new NotFoundError(`No export '${id.slice(0, 100)}'.`);
      return json(200, await presentExport(job, deps.exports.links, deps.clock.now(), originOf(event)));
    },
  }, { limiter: () => deps.rateLimiter });
}

export const handler = builtOnFirstCall(() => createExportsHandler(defaultDependencies('exports')));
