import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createDependencies, type Dependencies } from '../../shared/adapters/container.js';
import { createApiKey } from '../../shared/domain/api-keys.js';
import type { Scope } from '../../shared/definitions/routes.js';
import { createLocalApi, loadLambdaHandlers, type LambdaAuthorizer, type LambdaHttpHandler } from '../../infra/local/http-server.js';
import type { HandlerName } from '../../shared/definitions/routes.js';

export interface TestApi {
  url: string;
  deps: Dependencies;
  request(method: string, path: string, options?: { key?: string; body?: unknown; rawBody?: string | Buffer; headers?: Record<string, string> }): Promise<TestResponse>;
  newOrg(scopes?: Scope[]): Promise<{ orgId: string; key: string }>;
  /** Whether this API instance made the org (newOrg): job runners of one test file take only their own orgs' jobs. */
  ownOrg(orgId: string): boolean;
  keyFor(orgId: string, scopes: Scope[]): Promise<string>;
  close(): Promise<void>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export const ALL_SCOPES: Scope[] = ['events:write', 'events:read', 'pii:read', 'admin'];

/** The real local API (route table → authorizer → handlers) on a free port, over the run's DynamoDB Local. */
export async function startTestApi(
  override?: Partial<{ handlers: Record<HandlerName, LambdaHttpHandler>; authorizer: LambdaAuthorizer; requestTimeoutMs: number }>,
): Promise<TestApi> {
  const deps = createDependencies();
  const loaded = await loadLambdaHandlers();
  const server = createLocalApi({
    handlers: { ...loaded.handlers, ...override?.handlers }, authorizer: override?.authorizer ?? loaded.authorizer,
    files: { dir: deps.config.exportDir!, secret: deps.config.exportUrlSecret! },
    ...(override?.requestTimeoutMs ? { requestTimeoutMs: override.requestTimeoutMs } : {}),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const orgs = new Set<string>();
  const keyFor = async (orgId: string, scopes: Scope[]) => (await createApiKey(deps.apiKeys, { orgId, scopes, now: Date.now() })).key;
  return {
    url,
    deps,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      let body: string | Buffer | undefined = options.rawBody;
      if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] ??= 'application/json';
      }
      const response = await fetch(url + path, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await response.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: response.status, headers: response.headers, body: parsed, text };
    },
    async newOrg(scopes = ALL_SCOPES) {
      const orgId = `org_${randomBytes(6).toString('hex')}`;
      orgs.add(orgId);
      return { orgId, key: await keyFor(orgId, scopes) };
    },
    ownOrg: (orgId) => orgs.has(orgId),
    keyFor,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A valid event of the given type, with everything its payload requires. */
export function sampleEvent(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    lead_id: 'lead_1',
    source_type: 'direct',
    source: 'web',
    event_type: 'product_viewed',
    occurred_at: new Date(Date.now() - 3_600_000).toISOString(),
    payload: { product_id: 'p1', product_name: 'Course', category: 'education' },
    ...overrides,
  };
}
