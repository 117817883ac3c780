import { randomUUID } from 'node:crypto';
import { defaultDependencies, type Dependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { listAudit } from '../shared/domain/audit.js';
import { presentErasure, refuseWhileErasing, requestErasure } from '../shared/domain/erasure.js';
import { NotFoundError } from '../shared/domain/errors.js';
import { parseIdentitySettings, parseUnmergeBody, presentIdentitySettings, unmergeLead } from '../shared/domain/identity.js';
import { recordLeadUnmerged } from '../shared/domain/ingest.js';
import { getLead } from '../shared/domain/queries.js';
import { parsePrivacySettings } from '../shared/domain/privacy.js';
import { parseRateLimitSettings, presentRateLimitSettings } from '../shared/domain/rate-limit.js';
import { builtOnFirstCall, callerOf, createHttpHandler, viewerOf } from '../shared/http/handler.js';
import { json } from '../shared/http/middleware.js';

/** The org's settings, audit trail, erasures and unmerges (scope admin): sections 8 and 9. */
export function createAdminHandler(deps: Dependencies) {
  return createHttpHandler('admin', {
    'GET /v1/settings/privacy': async (_event, state) => json(200, await deps.settings.privacy(callerOf(state).orgId)),
    'PUT /v1/settings/privacy': async (_event, state) => {
      const settings = parsePrivacySettings(state.body, new Date(deps.clock.now()).toISOString());
      await deps.settings.setPrivacy(callerOf(state).orgId, settings);
      return json(200, settings);
    },
    'GET /v1/settings/identity': async (_event, state) => json(200, presentIdentitySettings(await deps.settings.identity(callerOf(state).orgId))),
    'PUT /v1/settings/identity': async (_event, state) => {
      const settings = parseIdentitySettings(state.body, new Date(deps.clock.now()).toISOString());
      await deps.settings.setIdentity(callerOf(state).orgId, settings);
      return json(200, presentIdentitySettings(settings));
    },
    'GET /v1/settings/limits': async (_event, state) => json(200, presentRateLimitSettings(await deps.rateLimits.limits(callerOf(state).orgId))),
    'PUT /v1/settings/limits': async (_event, state) => {
      const settings = parseRateLimitSettings(state.body, new Date(deps.clock.now()).toISOString());
      await deps.rateLimits.setLimits(callerOf(state).orgId, settings);
      return json(200, presentRateLimitSettings(settings));
    },
    'GET /v1/audit': async (event, state) => json(200, await listAudit(deps.audit, deps.cursors, callerOf(state).orgId, event.queryStringParameters ?? {}, deps.clock.now())),
    'DELETE /v1/leads/{lead_id}': async (event, state) => {
      const { orgId, keyId } = callerOf(state);
      const job = await requestErasure(deps, { orgId, leadId: event.pathParameters?.lead_id ?? '', keyId, requestId: state.requestId, nowMs: deps.clock.now() });
      state.auditAs = `erasure/${job.id}`; // never the lead's id: an erasure leaves no record of it (section 9)
      // Identity caches stop sending the family's identities to its leads once they next read the org's rules.
      await deps.settings.newIdentityEpoch(orgId, `${new Date(deps.clock.now()).toISOString()}#${randomUUID()}`);
      return json(202, { erasure_id: job.id, status: presentErasure(job).status }, { location: `/v1/erasures/${job.id}` });
    },
    'POST /v1/leads/{lead_id}/unmerge': async (event, state) => {
      const viewer = viewerOf(state);
      const nowMs = deps.clock.now();
      const [pathLead, lead] = [event.pathParameters?.lead_id ?? '', parseUnmergeBody(state.body)];
      await refuseWhileErasing(deps.erasures, viewer.orgId, [pathLead, lead]);
      const unmerge = await unmergeLead(deps.identities, viewer.orgId, pathLead, lead, new Date(nowMs).toISOString(), (split) => recordLeadUnmerged(deps.events, deps.identities, viewer.orgId, split, nowMs));
      // Identity caches (webhooks functions) drop what they knew of the family once they next read the org's rules.
      if (unmerge.changed) await deps.settings.newIdentityEpoch(viewer.orgId, `${new Date(nowMs).toISOString()}#${randomUUID()}`);
      return json(200, { changed: unmerge.changed, from_lead_id: unmerge.from, lead: await getLead(deps.events, deps.identities, viewer, unmerge.lead, nowMs) });
    },
    'GET /v1/erasures/{id}': async (event, state) => {
      const id = event.pathParameters?.id ?? '';
      const job = /^er_[0-9a-f]{32}$/.test(id) ? await deps.erasures.get(callerOf(state).orgId, id) : undefined;
      if (!job) throw new NotFoundError(`No erasure '${id.slice(0, 100)}'.`);
      return json(200, presentErasure(job));
    },
  }, { audit: () => deps.audit, clock: deps.clock, limiter: () => deps.rateLimiter });
}

export const handler = withPseudonymKey('admin', builtOnFirstCall(() => createAdminHandler(defaultDependencies('admin'))));
