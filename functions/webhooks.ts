import { withPseudonymKey, defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { IdentityCache } from '../shared/domain/identity.js';
import { cachedSecrets } from '../shared/domain/webhooks/secrets.js';
import { receiveWebhook } from '../shared/domain/webhooks/receive.js';
import { remapUnmapped } from '../shared/domain/webhooks/remap.js';
import { builtOnFirstCall, callerOf, createHttpHandler, createLogger } from '../shared/http/handler.js';
import { json, parseJsonBytes, type HttpEvent } from '../shared/http/middleware.js';

/** POST /v1/webhooks/{provider}/{org_id}: no API key, the provider's signature is the gate; POST /v1/webhooks/remap (admin). */
export function createWebhookHandler(deps: Dependencies) {
  const logger = createLogger('webhooks');
  const secrets = cachedSecrets(deps.webhookSecrets, deps.config.webhookSecretCacheSeconds * 1000);
  const identityCache = new IdentityCache(deps.config.identityCacheSeconds * 1000);
  const param = (event: HttpEvent, name: string) => event.pathParameters?.[name] ?? '';
  return createHttpHandler(
    'webhooks',
    {
      'POST /v1/webhooks/{provider}/{org_id}': async (event, state) => {
        const provider = param(event, 'provider');
        const outcome = await receiveWebhook(
          { events: deps.events, identities: deps.identities, secrets, parseJson: parseJsonBytes, identityCache, identityRules: deps.identityRules, admission: deps.eventLimiter, ...(state.admit ? { admit: state.admit } : {}) },
          { provider, orgId: param(event, 'org_id'), raw: state.rawBody ?? Buffer.alloc(0), headers: event.headers ?? {}, now: deps.clock.now() },
          (reason) => logger.info('webhook refused', { provider, reason }),
        );
        const { event: stored } = outcome;
        return json(200, { status: outcome.status, event_id: stored.id, event_type: stored.event_type, lead_id: stored.lead_id }, outcome.status === 'duplicate' ? { 'idempotent-replayed': 'true' } : {});
      },
      'POST /v1/webhooks/remap': async (_event, state) => json(200, await remapUnmapped(deps.events, callerOf(state).orgId, state.body, deps.clock.now(), state.signal)),
    },
    { logger, audit: () => deps.audit, clock: deps.clock, limiter: () => deps.rateLimiter },
  );
}

// withPseudonymKey: the seal of each event written (proof of record) is derived from the pseudonym secret.
export const handler = withPseudonymKey('webhooks', builtOnFirstCall(() => createWebhookHandler(defaultDependencies('webhooks'))));
