import { createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp } from '../infra/local/cli.js';
import { forgetJavaPid, LOCAL_TABLE_PREFIX, runningRuntime, startLocalDynamo } from '../infra/local/runtime.js';
import { localEnvironment, localSettings } from '../infra/local/settings.js';
import { createKmsClient, createS3Client } from '../shared/adapters/aws-clients.js';
import { S3CheckpointArchive } from '../shared/adapters/s3-checkpoint-archive.js';
import { LocalCheckpointArchive } from '../infra/local/local-checkpoint-archive.js';
import { configurePseudonymsFrom, createDependencies } from '../shared/adapters/container.js';
import { KmsCheckpointSigner } from '../shared/adapters/kms-checkpoint-signer.js';
import { loadConfig, type Config } from '../shared/config.js';
import { controlTable, eventsTable, logTable, physicalTableName } from '../shared/definitions/tables.js';
import { verifyBundle, type CheckGroup } from '../shared/domain/evidence.js';
import { ORG_ID_PATTERN } from '../shared/domain/keys.js';
import { auditOrg } from '../shared/domain/log-audit.js';

/**
 * `npm run verify -- <bundle.json> [--key <pem file>]`: checks an evidence bundle (GET /v1/leads/{lead_id}/evidence)
 * offline, as docs/proof-of-record.md tells a third party to by hand: one line per check group, one per failure.
 * Exit 0 when every check holds, 1 when any fails, 2 on a usage error (no file, a file that cannot be read or is
 * not JSON, a key file that cannot be read).
 * `npm run verify -- --org <id> [--aws]`: the org's log and event items as stored now, judged by auditLog
 * (shared/domain/log-audit.ts): every event edited, removed or inserted behind leadlog's back, the leaves under the
 * latest checkpoint recomputed to its signed root. Exit 0 when nothing is found, 1 otherwise (or on a read failure).
 */
const usage = `Usage: npm run verify -- <bundle.json> [--key <public key PEM file>]
       npm run verify -- --org <org id> [--aws]

  <bundle.json>  an evidence bundle (GET /v1/leads/{lead_id}/evidence). Checks every checkpoint's signature,
                 each earlier checkpoint's consistency with the latest (RFC 9162), and each event's record, raw
                 bytes, leaf and inclusion proof. Offline: no leadlog, no network.
  --key <file>   the checkpoint public key you trust (GET /v1/proofs/public-key over TLS, or your own copy).
                 Without it the bundle's own key is used, which proves only that the bundle is self-consistent.
  --org <id>     recompute an org's log from its stored events and name every event edited, removed or inserted
                 behind leadlog's back: the running npm start's tables (LEADLOG_DATA_DIR, default .data), else .data/
                 directly, and its key file; --aws: the deployed tables (EVENTS_TABLE_NAME, LOG_TABLE_NAME,
                 RAW_PAYLOAD_BUCKET, CHECKPOINT_KEY_ARN, PSEUDONYM_SECRET_ARN from the environment, see the stack's
                 outputs; AWS credentials from the environment). --key pins the public key instead of reading it.

Exit status: 0 all checks hold, 1 a check fails, 2 usage error. docs/proof-of-record.md says what each check proves.`;

function usageError(line: string): never {
  console.error(`verify: ${line}`);
  console.error('Run npm run verify -- --help for usage.');
  process.exit(2);
}

exitWithUsageOnHelp(usage);
let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: { key: { type: 'string' }, org: { type: 'string' }, aws: { type: 'boolean' } },
  });
}
try {
  parsed = parse();
} catch (error) {
  usageError((error as Error).message);
}
const { values, positionals } = parsed;

if (values.org !== undefined) {
  if (!ORG_ID_PATTERN.test(values.org)) usageError(`--org must match ${ORG_ID_PATTERN}`);
  if (positionals.length > 0) usageError('--org takes no bundle file');
  process.exit(await auditOrgCommand(values.org));
} else if (values.aws) usageError('--aws goes with --org');
if (positionals.length !== 1) usageError(positionals.length === 0 ? 'name one bundle file' : `name one bundle file, not ${positionals.length}`);
const file = positionals[0]!;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return usageError(`cannot read ${what} ${path}${code ? ` (${code})` : ''}`);
  }
}

const text = readText(file, 'the bundle');
let bundle: unknown;
try {
  bundle = JSON.parse(text);
} catch (error) {
  usageError(`${file} is not JSON: ${(error as Error).message}`);
}
const trustedKeyPem = values.key !== undefined ? readText(values.key, 'the key file') : undefined;

const result = verifyBundle(bundle, trustedKeyPem !== undefined ? { trustedKeyPem } : {});
const b = (bundle ?? {}) as Record<string, unknown>;
const latest = (b.checkpoint ?? {}) as Record<string, unknown>;
const state = (group: CheckGroup) => (result.groups[group].length === 0 ? 'ok' : `FAILED (${result.groups[group].length})`);
const show = (group: CheckGroup, line: string) => {
  console.log(line);
  for (const failure of result.groups[group]) console.log(`  FAIL ${failure}`);
};

show('bundle', result.keySource === 'pinned'
  ? `key: pinned from ${values.key}: ${state('bundle')}`
  : `key: taken from the bundle itself (pin the one you trust with --key): ${state('bundle')}`);
show('checkpoints', `checkpoints: ${result.checked.checkpoints} signed checkpoints of org ${String(b.org_id)}, the latest of size ${String(latest.tree_size)} issued ${String(latest.issued_at)}: ${state('checkpoints')}`);
const earlier = Array.isArray(b.checkpoints) ? Math.max(0, b.checkpoints.length - 1) : 0;
show('consistency', `consistency: ${earlier} earlier checkpoints are prefixes of the latest (RFC 9162): ${state('consistency')}`);
show('events', `events: ${result.checked.events} events' records, raw bytes, leaves and inclusion proofs: ${state('events')}`);
// What the leaves say the events are of (the bundle's lead_id is only its label: a family's bundle holds every member's).
if (result.leads.length > 0) console.log(`leads: the events' leaves name ${result.leads.slice(0, 20).join(', ')}${result.leads.length > 20 ? ` and ${result.leads.length - 20} more` : ''}`);
console.log(`pending: ${result.checked.pending} events of the lead stored but not yet in a checkpoint (not proven by this bundle)`);
console.log(result.ok ? 'verified: every check holds' : `NOT verified: ${result.failures.length} checks fail`);
process.exit(result.ok ? 0 : 1);

// ---------------------------------------------------------------------------------------------------------------
// --org: the org's log and events as stored now (shared/domain/log-audit.ts judges them).

/** The tables to read: the deployed ones, the environment's (DYNAMODB_ENDPOINT set: a test's), the running npm start's, or .data/ directly. */
async function withConfig<T>(work: (config: Config) => Promise<T>): Promise<T> {
  if (values.aws || process.env.DYNAMODB_ENDPOINT) return work(loadConfig('proofs'));
  const tableNames = { events: physicalTableName(LOCAL_TABLE_PREFIX, eventsTable), control: physicalTableName(LOCAL_TABLE_PREFIX, controlTable), log: physicalTableName(LOCAL_TABLE_PREFIX, logTable) };
  const running = runningRuntime();
  if (running) return work(loadConfig('proofs', localEnvironment(running.dynamoEndpoint, tableNames, localSettings.dataDir)));
  const { dynamo } = await startLocalDynamo();
  try {
    return await work(loadConfig('proofs', localEnvironment(dynamo.endpoint, tableNames, localSettings.dataDir)));
  } finally {
    await dynamo.stop();
    await forgetJavaPid();
  }
}

/** A usage problem found inside --org's work: thrown (not exited on) so a DynamoDB Local started here is stopped first. */
class UsageProblem extends Error {}

function readOrThrow(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageProblem(`cannot read ${what} ${path}${code ? ` (${code})` : ''}`);
  }
}

/** The checkpoint key's public half: --key, else KMS's (GetPublicKey) in AWS, else the local key file's (never made here). */
async function publicKeyOf(config: Config): Promise<string> {
  if (values.key !== undefined) return readOrThrow(values.key, 'the key file');
  if (config.checkpointKeyArn) return new KmsCheckpointSigner(config.checkpointKeyArn, createKmsClient({ region: config.region })).publicKeyPem();
  if (!config.proofKeyFile) throw new UsageProblem('no checkpoint key: set CHECKPOINT_KEY_ARN or PROOF_KEY_FILE, or pin one with --key');
  const text = readOrThrow(config.proofKeyFile, 'the checkpoint key file (no checkpoint was ever signed here?)');
  try {
    return createPublicKey(createPrivateKey(text)).export({ type: 'spki', format: 'pem' }).toString();
  } catch {
    throw new UsageProblem(`${config.proofKeyFile} holds no private key in PEM`);
  }
}

async function auditOrgCommand(orgId: string): Promise<number> {
  try {
    return await withConfig(async (config) => {
      // The seal key, derived from the pseudonym secret (the proofs function's contract does not list its ARN: the
      // environment's PSEUDONYM_SECRET_ARN names it for --aws).
      await configurePseudonymsFrom({ ...config, pseudonymSecretArn: config.pseudonymSecretArn ?? process.env.PSEUDONYM_SECRET_ARN });
      const publicKeyPem = await publicKeyOf(config);
      const deps = createDependencies(config);
      // The write-once archive says what was signed: CHECKPOINT_BUCKET_NAME from the environment for --aws, the
      // data folder locally.
      const bucket = config.checkpointBucketName;
      const archiveDir = config.checkpointArchiveDir;
      const archive = bucket ? new S3CheckpointArchive(bucket, createS3Client({ region: config.region })) : archiveDir ? new LocalCheckpointArchive(archiveDir) : undefined;
      if (!archive) console.log('archive: none configured (set CHECKPOINT_BUCKET_NAME): the log table\'s own checkpoints are trusted');
      const report = await auditOrg({ store: deps.proofLog, events: deps.events, ...(archive ? { archive } : {}) }, orgId, {
        publicKeyPem, nowMs: Date.now(), checkpointIntervalMs: config.checkpointIntervalSeconds * 1_000,
      });
      const { checkpoint } = report;
      console.log(`log: org ${orgId}, ${report.size} leaves committed, ${report.scanned} event items scanned`);
      console.log(checkpoint
        ? `checkpoint: size ${checkpoint.tree_size} issued ${checkpoint.issued_at}, leaves recomputed to its signed root: ${report.root_matches ? 'ok' : 'FAILED'}`
        : 'checkpoint: none yet');
      for (const problem of report.problems) console.log(`  FAIL ${problem}`);
      const list = (name: string, lines: string[], failing: boolean) => {
        console.log(`${name}: ${lines.length}${failing ? (lines.length === 0 ? ' (ok)' : ' FAILED') : ''}`);
        for (const line of lines) console.log(`  ${failing ? 'FAIL ' : ''}${line}`);
      };
      list('edited', report.edited.map((e) => `event ${e.id} (leaf ${e.index}): ${e.why}`), true);
      list('removed', report.removed.map((e) => `event ${e.id} (leaf ${e.index}): gone from the table, neither erased nor expired`), true);
      list('inserted', report.inserted.map((e) => `event ${e.id} (received_at ${e.received_at}): ${e.why}`), true);
      list('erased', report.erased.map((e) => `event ${e.id} (leaf ${e.index}): erased, its leaf kept`), false);
      list('expired', report.expired.map((e) => `event ${e.id} (leaf ${e.index}): past its retention`), false);
      list('pending', report.pending.map((e) => `event ${e.id} (received_at ${e.received_at}): not in the log yet`), false);
      const failed = report.problems.length + report.edited.length + report.removed.length + report.inserted.length;
      // No checkpoint yet is no tampering: nothing was signed to be broken.
      const ok = failed === 0 || (report.problems.length === 1 && !checkpoint && failed === 1);
      console.log(ok ? 'verified: the log and the stored events agree' : `NOT verified: ${failed} findings`);
      return ok ? 0 : 1;
    });
  } catch (error) {
    console.error(`verify: ${(error as Error).message}`);
    return error instanceof UsageProblem ? 2 : 1;
  }
}
