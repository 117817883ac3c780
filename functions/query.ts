import { defaultDependencies, type Dependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { findLeads, flowEvents, getEvent, getLead, getRawBody, leadTimeline, listEvents } from '../shared/domain/queries.js';
import { listAlerts } from '../shared/domain/alerts.js';
import { reportRun, runReport, type ReportPorts } from '../shared/domain/reports.js';
import { reportSql } from '../shared/adapters/report-sql.js';
import { maskContacts } from '../shared/domain/masking.js';
import type { LeadConduitChannelStatus } from '../shared/domain/ports.js';

/** A channel's status as answered: counts, and its marks with any e-mail or phone in them masked (a key or an error may quote one). */
const shownStatus = (status: LeadConduitChannelStatus) => Object.fromEntries(Object.entries(status).map(([k, v]) => [k, typeof v === 'string' ? maskContacts(v) : v]));
import { builtOnFirstCall, createHttpHandler, readerOf, viewerOf } from '../shared/http/handler.js';
import { bytes, json, type HttpEvent, type RequestState } from '../shared/http/middleware.js';

const params = (event: HttpEvent) => event.queryStringParameters ?? {};

/** A report waits at most this long for its engine before answering 202 (API Gateway's HTTP API stops at 30 s). */
export const REPORT_WAIT_MS = 20_000;
/** Kept back from the request's deadline to sign the run id and answer 202 before the deadline's 503. */
export const REPORT_ANSWER_MARGIN_MS = 500;

/** An AbortSignal that fires when the report must stop waiting: the request's deadline less a margin, at most REPORT_WAIT_MS. */
function reportBudget(state: RequestState): { signal: AbortSignal; done: () => void } {
  const waitMs = Math.max(0, Math.min(REPORT_WAIT_MS, state.deadlineAt === undefined ? REPORT_WAIT_MS : state.deadlineAt - Date.now() - REPORT_ANSWER_MARGIN_MS));
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error('report budget spent')), waitMs);
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}
/** Path parameters, decoded once by the middleware (shared/http/routing.ts `decodePathParameters`). */
const pathParam = (event: HttpEvent, name: string) => event.pathParameters?.[name] ?? '';

/** The read routes: one event, a lead (identities) and its timeline, the org's events, a flow's events. */
export function createQueryHandler(deps: Dependencies) {
  const viewer = (state: RequestState) => readerOf(state, deps.maskOptions);
  const reads = (state: RequestState) => ({ store: deps.events, cursors: deps.cursors, signal: state.signal });
  const reports = (): ReportPorts => ({ engine: deps.reports, sql: reportSql, cursors: deps.cursors });
  return createHttpHandler('query', {
    'GET /v1/events/{id}': async (event, state) =>
      json(200, await getEvent(deps.events, await viewer(state), pathParam(event, 'id'), deps.clock.now())),
    'GET /v1/events/{id}/raw': async (event, state) =>
      bytes(200, await getRawBody(deps.events, await viewer(state), pathParam(event, 'id'), deps.clock.now())),
    'GET /v1/leads/{lead_id}/events': async (event, state) =>
      json(200, await leadTimeline(reads(state), deps.identities, await viewer(state), pathParam(event, 'lead_id'), params(event), deps.clock.now(), deps.erasures)),
    'GET /v1/leads/{lead_id}': async (event, state) =>
      json(200, await getLead(deps.events, deps.identities, await viewer(state), pathParam(event, 'lead_id'), deps.clock.now())),
    'GET /v1/leads': async (event, state) =>
      json(200, await findLeads(deps.events, deps.identities, await viewer(state), params(event), deps.clock.now())),
    'GET /v1/events': async (event, state) =>
      json(200, await listEvents(reads(state), await viewer(state), params(event), deps.clock.now())),
    'GET /v1/alerts': async (event, state) => json(200, await listAlerts(deps.alerts, deps.cursors, viewerOf(state).orgId, params(event), deps.clock.now())),
    'GET /v1/integrations/leadconduit/status': async (_event, state) => {
      const { api, inbox, pull } = await deps.leadconduitStatus.status(viewerOf(state).orgId);
      const nullable = (status: LeadConduitChannelStatus, marks: (keyof LeadConduitChannelStatus)[]) => ({
        created: status.created, duplicate: status.duplicate, invalid: status.invalid, ...Object.fromEntries(marks.map((m) => [m, shownStatus(status)[m] ?? null])),
      });
      return json(200, { api: nullable(api, []), inbox: nullable(inbox, ['last_key', 'last_error']), pull: nullable(pull, ['after_id', 'last_run_at', 'last_error']) });
    },
    'GET /v1/reports/{name}': async (event, state) => {
      const budget = reportBudget(state);
      try {
        const answer = await runReport(reports(), viewerOf(state).orgId, pathParam(event, 'name'), params(event), () => deps.clock.now(), budget.signal);
        if (answer.status === 200) return json(200, answer.body);
        return json(202, { id: answer.id, status: 'running' }, { location: `/v1/reports/runs/${answer.id}` });
      } finally {
        budget.done();
      }
    },
    'GET /v1/reports/runs/{id}': async (event, state) =>
      json(200, await reportRun(reports(), viewerOf(state).orgId, pathParam(event, 'id'), deps.clock.now())),
    'GET /v1/flows/{flow_id}/events': async (event, state) =>
      json(200, await flowEvents(reads(state), await viewer(state), pathParam(event, 'flow_id'), params(event), deps.clock.now())),
  }, { audit: () => deps.audit, clock: deps.clock, limiter: () => deps.rateLimiter });
}

export const handler = withPseudonymKey('query', builtOnFirstCall(() => createQueryHandler(defaultDependencies('query'))));
