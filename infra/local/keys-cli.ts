import { parseArgs } from 'node:util';
import { createDocumentClient } from '../../shared/adapters/dynamo-client.js';
import { DynamoApiKeyStore } from '../../shared/adapters/dynamo-api-key-store.js';
import { createApiKey, hashApiKey, keyIdOf, parseScopes } from '../../shared/domain/api-keys.js';
import { ORG_ID_PATTERN } from '../../shared/domain/keys.js';
import type { ApiKeyStore } from '../../shared/domain/ports.js';
import { physicalTableName, controlTable } from '../../shared/definitions/tables.js';
import { LOCAL_TABLE_PREFIX, runningRuntime, startLocalDynamo } from './runtime.js';

const USAGE = `npm run keys -- <command> [options]

  create --org <id> --scopes <a,b> [--label <text>]   create a key; prints it on its own line (shown once)
  list   --org <id>                                   list an org's keys (ids, scopes, state; never secrets)
  revoke --org <id> --key-id <id>                     revoke a key by its id
  revoke --key <llk_…>                                revoke a key you hold

Target: the local runtime's table (the running npm start, else .data/ directly).
  --aws [--table <control table>]   the deployed table instead (AWS credentials from the environment;
                                    table from --table or CONTROL_TABLE_NAME; see the stack's outputs)
Scopes: events:write, events:read, pii:read, admin`;

function fail(message: string): never {
  console.error(`keys: ${message}\n\n${USAGE}`);
  process.exit(2);
}

async function withStore<T>(aws: boolean, table: string | undefined, work: (store: ApiKeyStore) => Promise<T>): Promise<T> {
  if (aws) {
    const tableName = table ?? process.env.CONTROL_TABLE_NAME;
    if (!tableName) fail('--aws needs --table <control table name> or CONTROL_TABLE_NAME');
    return work(new DynamoApiKeyStore(createDocumentClient(), tableName));
  }
  const tableName = physicalTableName(LOCAL_TABLE_PREFIX, controlTable);
  const running = runningRuntime();
  if (running) return work(new DynamoApiKeyStore(createDocumentClient({ endpoint: running.dynamoEndpoint }), tableName));
  const { dynamo } = await startLocalDynamo();
  try {
    return await work(new DynamoApiKeyStore(createDocumentClient({ endpoint: dynamo.endpoint }), tableName));
  } finally {
    await dynamo.stop();
  }
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      org: { type: 'string' }, scopes: { type: 'string' }, label: { type: 'string' }, 'key-id': { type: 'string' },
      key: { type: 'string' }, aws: { type: 'boolean', default: false }, table: { type: 'string' },
    },
    strict: true,
  });
  const org = values.org;
  if (org !== undefined && !ORG_ID_PATTERN.test(org)) fail(`--org must match ${ORG_ID_PATTERN}`);
  switch (command) {
    case 'create': {
      if (!org) fail('create needs --org');
      let scopes;
      try {
        scopes = parseScopes(values.scopes ?? '');
      } catch (error) {
        fail((error as Error).message);
      }
      const { key, record } = await withStore(values.aws, values.table, (store) =>
        createApiKey(store, { orgId: org, scopes, now: Date.now(), ...(values.label ? { label: values.label } : {}) }),
      );
      console.error(`created key ${record.keyId} for org ${org} with scopes ${record.scopes.join(',')} (shown once; stored hashed):`);
      console.log(key);
      return;
    }
    case 'list': {
      if (!org) fail('list needs --org');
      const keys = await withStore(values.aws, values.table, (store) => store.list(org));
      for (const k of keys) {
        console.log([k.keyId, k.scopes.join(','), k.revokedAt ? `revoked ${k.revokedAt}` : 'active', k.createdAt, k.label ?? ''].join('\t'));
      }
      if (keys.length === 0) console.error(`no keys for org ${org}`);
      return;
    }
    case 'revoke': {
      const revoked = await withStore(values.aws, values.table, async (store) => {
        if (values.key) {
          const found = await store.findByHash(hashApiKey(values.key));
          if (!found || keyIdOf(values.key) !== found.keyId) return false;
          return store.revoke(found.orgId, found.keyId, new Date().toISOString());
        }
        if (!org || !values['key-id']) fail('revoke needs --org and --key-id, or --key');
        return store.revoke(org, values['key-id'], new Date().toISOString());
      });
      if (!revoked) {
        console.error('keys: no such key');
        process.exit(1);
      }
      console.error('revoked (deployed authorizers may keep a cached answer for up to 60 s)');
      return;
    }
    default:
      fail(command ? `unknown command '${command}'` : 'a command is required');
  }
}

main().catch((error) => {
  console.error('keys:', (error as Error).message);
  process.exit(1);
});
