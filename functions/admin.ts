import { defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { listAudit } from '../shared/domain/audit.js';
import { parsePrivacySettings } from '../shared/domain/privacy.js';
import { builtOnFirstCall, callerOf, createHttpHandler } from '../shared/http/handler.js';
import { json } from '../shared/http/middleware.js';

/** The org's settings and audit trail (scope admin): GET and PUT /v1/settings/privacy, GET /v1/audit (section 9). */
export function createAdminHandler(deps: Dependencies) {
  return createHttpHandler('admin', {
    'GET /v1/settings/privacy': async (_event, state) => json(200, await deps.settings.privacy(callerOf(state).orgId)),
    'PUT /v1/settings/privacy': async (_event, state) => {
      const settings = parsePrivacySettings(state.body, new Date(deps.clock.now()).toISOString());
      await deps.settings.setPrivacy(callerOf(state).orgId, settings);
      return json(200, settings);
    },
    'GET /v1/audit': async (event, state) => json(200, await listAudit(deps.audit, callerOf(state).orgId, event.queryStringParameters ?? {}, deps.clock.now())),
  }, { audit: () => deps.audit, clock: deps.clock });
}

export const handler = builtOnFirstCall(() => createAdminHandler(defaultDependencies('admin')));
