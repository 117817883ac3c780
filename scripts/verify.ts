import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp } from '../infra/local/cli.js';
import { verifyBundle, type CheckGroup } from '../shared/domain/evidence.js';

/**
 * `npm run verify -- <bundle.json> [--key <pem file>]`: checks an evidence bundle (GET /v1/leads/{lead_id}/evidence)
 * offline, as docs/proof-of-record.md tells a third party to by hand: one line per check group, one per failure.
 * Exit 0 when every check holds, 1 when any fails, 2 on a usage error (no file, a file that cannot be read or is
 * not JSON, a key file that cannot be read).
 */
const usage = `Usage: npm run verify -- <bundle.json> [--key <public key PEM file>]
       npm run verify -- --org <org id> [--aws]

  <bundle.json>  an evidence bundle (GET /v1/leads/{lead_id}/evidence). Checks every checkpoint's signature,
                 each earlier checkpoint's consistency with the latest (RFC 9162), and each event's record, raw
                 bytes, leaf and inclusion proof. Offline: no leadlog, no network.
  --key <file>   the checkpoint public key you trust (GET /v1/proofs/public-key over TLS, or your own copy).
                 Without it the bundle's own key is used, which proves only that the bundle is self-consistent.
  --org <id>     recompute an org's log from its stored events and name every event edited, removed or inserted
                 behind leadlog's back (locally; --aws against the deployed tables).

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
  // The pure judgement is shared/domain/log-audit.ts (auditLog); the reads of the log table and the events come with
  // the proof log's store (shared/adapters/dynamo-proof-log.ts), which is being written beside this command.
  usageError('--org is not wired to the stores yet (auditLog in shared/domain/log-audit.ts is the part that judges); use a bundle file');
}
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
console.log(`pending: ${result.checked.pending} events of the lead stored but not yet in a checkpoint (not proven by this bundle)`);
console.log(result.ok ? 'verified: every check holds' : `NOT verified: ${result.failures.length} checks fail`);
process.exit(result.ok ? 0 : 1);
