import { parseArgs } from 'node:util';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { DynamoApiKeyStore } from '../../shared/adapters/dynamo-api-key-store.js';
import { createApiKey, hashApiKey, keyIdOf, parseScopes } from '../../shared/domain/api-keys.js';
import { ORG_ID_PATTERN } from '../../shared/domain/keys.js';
import type { ApiKeyStore, AuditLog, ShardPlanStore, WebhookSecretStore } from '../../shared/domain/ports.js';
import { DynamoShardPlanStore } from '../../shared/adapters/dynamo-shard-plan-store.js';
import { indexShardsFor, MAX_INDEX_SHARDS, SHARD_PLAN_WRITE_DELAY_MS } from '../../shared/definitions/scale.js';
import { DynamoAuditLog } from '../../shared/adapters/dynamo-audit-log.js';
import { randomUUID } from 'node:crypto';
import { physicalTableName, controlTable } from '../../shared/definitions/tables.js';
import { DynamoWebhookSecretStore } from '../../shared/adapters/dynamo-webhook-secret-store.js';
import { clearPreviousSecret, generateSecret, setWebhookSecret, webhookSecretProblem } from '../../shared/domain/webhooks/secrets.js';
import { isProvider, PROVIDERS, type Provider } from '../../shared/domain/webhooks/signatures.js';
import { forgetJavaPid, LOCAL_TABLE_PREFIX, runningRuntime, startLocalDynamo } from './runtime.js';
import { localSettings } from './settings.js';
import { exitWithUsageOnHelp } from './cli.js';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createCloudFormationClient, createIamClient, stackOutputs } from './cli-aws-clients.js';
import { createLeadConduitWriter, WriterRefusedError } from '../../shared/adapters/leadconduit-writer.js';
import {
  BUCKET_NAME_PATTERN, LOCAL_INGESTED_DIR, LOCAL_REJECTED_DIR, MAX_WRITER_ORG_ID_LENGTH, orgInboxPrefix, parseKmsKeyArn,
} from '../../shared/definitions/leadconduit-inbox.js';
import { CreateSecretCommand, PutSecretValueCommand, ResourceExistsException } from '@aws-sdk/client-secrets-manager';
import { createSecretsManagerClient } from '../../shared/adapters/aws-clients.js';
import { DynamoLeadConduitPullStore } from '../../shared/adapters/dynamo-leadconduit-pull-store.js';
import { leadConduitKeySecretName } from '../../shared/definitions/leadconduit-pull.js';
import type { LeadConduitPullStore } from '../../shared/domain/ports.js';

const USAGE = `Usage: npm run keys -- <command> [options]

  create --org <id> --scopes <a,b> [--label <text>]   create a key; prints it on its own line (shown once)
  list   --org <id>                                   list an org's keys (ids, scopes, state; never secrets)
  revoke --org <id> --key-id <id>                     revoke a key by its id
  revoke --key <llk_…>                                revoke a key you hold

  webhook-secret set   --org <id> --provider <p> [--secret <s>] [--replace]
                       set the current secret (generated and printed if not given); the previous one
                       stays valid beside it until clear-previous (or --replace drops it now)
  webhook-secret clear-previous --org <id> --provider <p>
  webhook-secret list  --org <id>                     providers with secrets (never the secrets)
Providers: stripe, shopify, typeform, hotmart

  shards --org <id> [--events-per-second <peak> | --shards <n>]
                       an org's index shard plan (docs/scale.md): with a peak rate (bursts included) or a count,
                       raise it (plans only grow; readers use it at once, writers ${SHARD_PLAN_WRITE_DELAY_MS / 60_000} minutes later);
                       without, print it

  leadconduit --org <id> [--aws [--stack <name> | --bucket <LeadConduitInboxBucketName> --kms-key-arn <LeadConduitInboxKeyArn>]]
                       LeadConduit's Event Streaming for one org: with --aws, an IAM user (leadlog-leadconduit-<org>) that
                       may only put objects under leadconduit/<org>/ of the inbox bucket, its access key (shown once) and
                       what to paste into LeadConduit; without, the local folder npm start watches
  leadconduit --org <id> --api-key <key> --aws
                       store the org's LeadConduit API key in Secrets Manager (leadlog/leadconduit/<org>; replaced
                       if there) and have the deployed puller pull the org every 5 minutes (locally, npm run
                       leadconduit -- pull takes the key from LEADCONDUIT_API_KEY)

Target: the local runtime's table (the running npm start, else .data/ directly).
  --aws [--table <control table>]   the deployed table instead (AWS credentials from the environment;
                                    table from --table or CONTROL_TABLE_NAME; see the stack's outputs)
Scopes: events:write, events:read, pii:read, admin`;

function fail(message: string): never {
  console.error(`keys: ${message}\n\n${USAGE}`);
  process.exit(2);
}

interface ControlStores {
  apiKeys: ApiKeyStore;
  webhookSecrets: WebhookSecretStore;
  audit: AuditLog;
  shardPlans: ShardPlanStore;
  leadconduitPulls: LeadConduitPullStore;
}

/** Key creation and revocation are audited (section 9); the CLI acts without an API key of its own. */
const audited = (audit: AuditLog, orgId: string, action: 'key.create' | 'key.revoke', keyId: string) =>
  audit.record(orgId, { at: new Date().toISOString(), key_id: 'cli', action, resource: `api-keys/${keyId}`, request_id: randomUUID() });

async function withStores<T>(aws: boolean, table: string | undefined, work: (stores: ControlStores) => Promise<T>): Promise<T> {
  const stores = (client: ReturnType<typeof createDocumentClient>, tableName: string): ControlStores => ({
    apiKeys: new DynamoApiKeyStore(client, tableName),
    webhookSecrets: new DynamoWebhookSecretStore(client, tableName),
    audit: new DynamoAuditLog(client, tableName),
    shardPlans: new DynamoShardPlanStore(client, tableName),
    leadconduitPulls: new DynamoLeadConduitPullStore(client, tableName),
  });
  if (aws) {
    const tableName = table ?? localSettings.awsControlTable;
    if (!tableName) fail('--aws needs --table <control table name> or CONTROL_TABLE_NAME');
    return work(stores(createDocumentClient(), tableName));
  }
  const tableName = physicalTableName(LOCAL_TABLE_PREFIX, controlTable);
  const running = runningRuntime();
  if (running) return work(stores(createDocumentClient({ endpoint: running.dynamoEndpoint }), tableName));
  const { dynamo } = await startLocalDynamo();
  try {
    return await work(stores(createDocumentClient({ endpoint: dynamo.endpoint }), tableName));
  } finally {
    await dynamo.stop();
    await forgetJavaPid();
  }
}

async function webhookSecretCommand(args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const { values } = parseArgs({
    args: rest,
    options: {
      org: { type: 'string' }, provider: { type: 'string' }, secret: { type: 'string' }, replace: { type: 'boolean', default: false },
      aws: { type: 'boolean', default: false }, table: { type: 'string' },
    },
    strict: true,
  });
  const org = values.org;
  if (!org || !ORG_ID_PATTERN.test(org)) fail(`webhook-secret ${sub ?? ''} needs --org matching ${ORG_ID_PATTERN}`);
  const provider = values.provider;
  if (sub !== 'list' && (!provider || !isProvider(provider))) fail(`--provider must be one of ${PROVIDERS.join(', ')}`);
  // Refused before any store is opened (or DynamoDB Local started): exit 1, nothing stored.
  const problem = sub === 'set' && values.secret !== undefined ? webhookSecretProblem(values.secret) : undefined;
  if (problem) {
    console.error(`keys: --secret ${problem}; nothing stored`);
    process.exit(1);
  }
  const now = new Date().toISOString();
  await withStores(values.aws, values.table, async ({ webhookSecrets }) => {
    if (sub === 'set') {
      const secret = values.secret ?? generateSecret(provider as Provider);
      const secrets = await setWebhookSecret(webhookSecrets, { orgId: org, provider: provider as Provider, secret, keepPrevious: !values.replace, nowIso: now });
      console.error(`${provider} secret set for org ${org}${secrets.length > 1 ? ' (the previous one stays valid until clear-previous)' : ''}:`);
      console.log(secret);
    } else if (sub === 'clear-previous') {
      const cleared = await clearPreviousSecret(webhookSecrets, org, provider as Provider, now);
      console.error(cleared ? 'previous secret removed' : 'no previous secret');
    } else if (sub === 'list') {
      for (const p of await webhookSecrets.providers(org)) console.log(`${p.provider}\t${p.count} secret(s)\tupdated ${p.updatedAt}`);
    } else {
      fail(`unknown webhook-secret command '${sub ?? ''}'`);
    }
  });
}

async function shardsCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { org: { type: 'string' }, 'events-per-second': { type: 'string' }, shards: { type: 'string' }, aws: { type: 'boolean', default: false }, table: { type: 'string' } },
    strict: true,
  });
  const org = values.org;
  if (!org || !ORG_ID_PATTERN.test(org)) fail(`shards needs --org matching ${ORG_ID_PATTERN}`);
  const rate = values['events-per-second'] !== undefined ? Number(values['events-per-second']) : undefined;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) fail('--events-per-second must be a positive number');
  const count = values.shards !== undefined ? Number(values.shards) : rate !== undefined ? indexShardsFor(rate) : undefined;
  if (count !== undefined && !(Number.isInteger(count) && count >= 1 && count <= MAX_INDEX_SHARDS)) fail(`--shards must be a whole number from 1 to ${MAX_INDEX_SHARDS}`);
  const plan = await withStores(values.aws, values.table, ({ shardPlans }) => (count === undefined ? shardPlans.of(org, Date.now()) : shardPlans.raise(org, count, Date.now())));
  console.log(`org ${org}: readers merge ${plan.read} shard(s); writers spread over ${plan.write}${plan.write < plan.read ? ` (${plan.read} from ${SHARD_PLAN_WRITE_DELAY_MS / 60_000} minutes after the raise)` : ''}`);
}

/** `leadconduit --api-key`: the pull's key (contract section 12), kept in Secrets Manager where the scheduled puller reads it. */
async function leadconduitCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      org: { type: 'string' }, 'api-key': { type: 'string' }, aws: { type: 'boolean', default: false }, table: { type: 'string' },
      // The Event Streaming inbox's writer (without --api-key): the stack's outputs LeadConduitInboxBucketName and LeadConduitInboxKeyArn.
      bucket: { type: 'string' }, 'kms-key-arn': { type: 'string' }, stack: { type: 'string' },
    },
    strict: true,
  });
  const org = values.org;
  if (!org || !ORG_ID_PATTERN.test(org)) fail(`leadconduit needs --org matching ${ORG_ID_PATTERN}`);
  const apiKey = values['api-key'];
  if (apiKey === undefined) return leadconduitInboxCommand(org, values);
  // Refused before anything is stored: exit 1.
  if (!/^[\x21-\x7e]{8,256}$/.test(apiKey)) {
    console.error('keys: --api-key must be 8 to 256 printable characters without spaces (LeadConduit\'s keys are 40 hex digits); nothing stored');
    process.exit(1);
  }
  if (!values.aws) fail('--api-key is kept in AWS only (add --aws): locally, npm run leadconduit -- pull takes it from LEADCONDUIT_API_KEY');
  const secrets = createSecretsManagerClient({ region: localSettings.region });
  const name = leadConduitKeySecretName(org);
  try {
    await secrets.send(new CreateSecretCommand({ Name: name, SecretString: apiKey, Description: `leadlog: LeadConduit API key of org ${org} (the scheduled pull)` }));
  } catch (error) {
    if (!(error instanceof ResourceExistsException)) throw error;
    await secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: apiKey }));
  }
  await withStores(true, values.table, ({ leadconduitPulls }) => leadconduitPulls.schedule(org, new Date().toISOString()));
  console.error(`LeadConduit API key stored as ${name}; the deployed puller pulls org ${org} every 5 minutes (status: GET /v1/integrations/leadconduit/status)`);
}

/**
 * `leadconduit` without --api-key: what LeadConduit's Event Streaming needs for one org. With --aws, an IAM user that may
 * only put objects under `leadconduit/<org>/` of the inbox bucket (and encrypt them with its key), its access key shown
 * once, and the fields to paste into the flow's Event Streaming dialog; locally, the folder npm start watches.
 */
async function leadconduitInboxCommand(org: string, values: { aws?: boolean; bucket?: string; 'kms-key-arn'?: string; stack?: string }): Promise<void> {
  if (!values.aws) {
    const folder = join(localSettings.dataDir, 'inbox', orgInboxPrefix(org));
    await mkdir(folder, { recursive: true });
    console.log(folder);
    console.error(`npm start ingests each event file put under it within 5 s, as <lead id>/<event id>.json (LeadConduit's layout under its prefix);
set aside: ${LOCAL_REJECTED_DIR}/ (with <name>.error.json), ingested: ${LOCAL_INGESTED_DIR}/ (deleted after 7 days).
In AWS: npm run keys -- leadconduit --org ${org} --aws (bucket and key from the stack's outputs; --stack <name>, default leadlog-dev)`);
    return;
  }
  // Without --bucket / --kms-key-arn, the deployed stack's outputs say them (contract section 12's command needs no more).
  let { bucket, 'kms-key-arn': kmsKeyArn } = values;
  if (!bucket || !kmsKeyArn) {
    const stackName = values.stack ?? process.env.LEADLOG_STACK ?? 'leadlog-dev';
    const outputs = await stackOutputs(createCloudFormationClient({ region: localSettings.region }), stackName).catch((error: unknown) => {
      console.error(`keys: could not read the outputs of stack ${stackName} (${(error as Error).message}); pass --stack <name>, or --bucket and --kms-key-arn`);
      process.exit(1);
    });
    bucket ??= outputs.LeadConduitInboxBucketName;
    kmsKeyArn ??= outputs.LeadConduitInboxKeyArn;
  }
  if (!bucket || !BUCKET_NAME_PATTERN.test(bucket)) fail('leadconduit --aws needs --bucket <the stack output LeadConduitInboxBucketName> (or a --stack that has it)');
  const key = kmsKeyArn ? parseKmsKeyArn(kmsKeyArn) : undefined;
  if (!kmsKeyArn || !key) fail('leadconduit --aws needs --kms-key-arn <the stack output LeadConduitInboxKeyArn> (arn:aws:kms:<region>:<account>:key/<id>)');
  if (org.length > MAX_WRITER_ORG_ID_LENGTH) {
    console.error(`keys: an org id longer than ${MAX_WRITER_ORG_ID_LENGTH} characters cannot name an IAM user (leadlog-leadconduit-<org>); nothing created`);
    process.exit(1);
  }
  let access;
  try {
    access = await createLeadConduitWriter(createIamClient({ region: key.region }), { bucket, orgId: org, kmsKeyArn });
  } catch (error) {
    if (!(error instanceof WriterRefusedError)) throw error;
    console.error(`keys: ${error.message}`);
    process.exit(1);
  }
  console.error(`${access.createdUser ? 'created' : 'updated'} IAM user ${access.userName}: PutObject under s3://${bucket}/${orgInboxPrefix(org)}/ only.
Paste into LeadConduit (the flow → Event Streaming → Amazon S3). The secret is shown once; leadlog keeps no copy:`);
  console.log([
    `Bucket:            ${bucket}`,
    `Prefix:            ${orgInboxPrefix(org)}`,
    `Region:            ${key.region}`,
    `Access Key ID:     ${access.accessKeyId}`,
    `Secret Access Key: ${access.secretAccessKey}`,
  ].join('\n'));
}

async function main(): Promise<void> {
  exitWithUsageOnHelp(USAGE);
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'webhook-secret') return webhookSecretCommand(rest);
  if (command === 'shards') return shardsCommand(rest);
  if (command === 'leadconduit') return leadconduitCommand(rest);
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
      const { key, record } = await withStores(values.aws, values.table, async ({ apiKeys: store, audit }) => {
        const created = await createApiKey(store, { orgId: org, scopes, now: Date.now(), ...(values.label ? { label: values.label } : {}) });
        await audited(audit, org, 'key.create', created.record.keyId);
        return created;
      });
      console.error(`created key ${record.keyId} for org ${org} with scopes ${record.scopes.join(',')} (shown once; stored hashed):`);
      console.log(key);
      return;
    }
    case 'list': {
      if (!org) fail('list needs --org');
      const keys = await withStores(values.aws, values.table, ({ apiKeys: store }) => store.list(org));
      for (const k of keys) {
        console.log([k.keyId, k.scopes.join(','), k.revokedAt ? `revoked ${k.revokedAt}` : 'active', k.createdAt, k.label ?? ''].join('\t'));
      }
      if (keys.length === 0) console.error(`no keys for org ${org}`);
      return;
    }
    case 'revoke': {
      const revoked = await withStores(values.aws, values.table, async ({ apiKeys: store, audit }) => {
        let target: { orgId: string; keyId: string };
        if (values.key) {
          const found = await store.findByHash(hashApiKey(values.key));
          if (!found || keyIdOf(values.key) !== found.keyId) return false;
          target = found;
        } else {
          if (!org || !values['key-id']) fail('revoke needs --org and --key-id, or --key');
          target = { orgId: org, keyId: values['key-id'] };
        }
        const done = await store.revoke(target.orgId, target.keyId, new Date().toISOString());
        if (done) await audited(audit, target.orgId, 'key.revoke', target.keyId);
        return done;
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
