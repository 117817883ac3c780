import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';
import { defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { authenticateApiKey } from '../shared/domain/api-keys.js';
import { builtOnFirstCall } from '../shared/http/handler.js';
import type { AuthorizerContext } from '../shared/http/middleware.js';

/**
 * HTTP API Lambda authorizer (simple responses, cached by the Authorization header). It always lets the
 * request through: a valid key adds {org_id, scopes, key_id} to the context, an invalid one adds nothing,
 * and the handler answers 401/403 as problem+json (API Gateway's own deny would be a bare 403).
 */
export function createAuthorizer(deps: Pick<Dependencies, 'apiKeys'>) {
  return async (event: Pick<APIGatewayRequestAuthorizerEventV2, 'headers'>): Promise<APIGatewaySimpleAuthorizerWithContextResult<AuthorizerContext>> => {
    const authorization = event.headers?.authorization ?? event.headers?.Authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    const record = match ? await authenticateApiKey(deps.apiKeys, match[1]!) : undefined;
    return {
      isAuthorized: true,
      context: record ? { org_id: record.orgId, scopes: record.scopes.join(','), key_id: record.keyId } : {},
    };
  };
}

export const handler = builtOnFirstCall(() => createAuthorizer(defaultDependencies('authorizer')));
