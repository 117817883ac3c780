import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { redeliverErrors } from '../shared/adapters/archive-redelivery.js';
import { createFirehoseClient, createS3Client } from '../shared/adapters/aws-clients.js';
import { maskFreeText } from '../shared/domain/masking.js';
import { LocalArchive, redeliverLocalErrors } from '../infra/local/local-archive.js';
import { DATA_DIR, runningRuntime } from '../infra/local/runtime.js';

/**
 * `npm run archive -- redeliver --bucket <ArchiveBucketName> --streams <ArchiveDeliveryStreamNames> [--repair] [--dry-run]`:
 * re-feeds what Firehose could not deliver (the archive bucket's errors/ prefix, shared by every stream) into the streams, then
 * deletes each object it re-fed. `--local` does the same for the local archive's quarantine (.data/archive/errors/).
 */
const usage = `Usage: npm run archive -- redeliver (--bucket <ArchiveBucketName output> --streams <ArchiveDeliveryStreamNames output> | --local) [--repair] [--dry-run]

  Re-feeds the archive's errors/ prefix (records Firehose could not deliver: partition quota exceeded,
  conversion failures), which every delivery stream shares, into the streams (each record to its org's stream),
  object by object, deleting each once Firehose accepted every record of it. --streams is the stack output as is:
  the stream names, comma-separated, in the stack's order. Uses your AWS credentials (AWS_REGION, AWS_PROFILE).
  --local   re-feeds the local archive's quarantine (.data/archive/errors/: rows DuckDB could not encode) into
            the local archive; the running npm start archives them on its next flush (else this command does).
  --repair  makes each record well-formed first (lone UTF-16 surrogates become U+FFFD); a record that still
            cannot be encoded is quarantined again, with its reason.
  --dry-run only counts.`;

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: {
    bucket: { type: 'string' }, streams: { type: 'string' }, local: { type: 'boolean', default: false }, repair: { type: 'boolean', default: false },
    'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
  },
  allowPositionals: true,
  strict: false,
});
const streams = typeof values.streams === 'string' ? values.streams.split(',').map((name) => name.trim()) : [];
const aws = typeof values.bucket === 'string' && streams.length > 0 && streams.every((name) => name !== '');
if (values.help || positionals[0] !== 'redeliver' || aws === (values.local === true)) {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
if (values.local) await redeliverLocally();
const started = Date.now();
let last = 0;
const result = await redeliverErrors(
  { s3: createS3Client(), firehose: createFirehoseClient() },
  {
    bucket: values.bucket as string, streams, dryRun: values['dry-run'] === true, repair: values.repair === true,
    onProgress: ({ objects, records }) => {
      if (Date.now() - last < 5000) return;
      last = Date.now();
      console.log(`archive: ${objects} objects, ${records} records so far (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    },
  },
).catch((error: Error) => {
  console.error(`archive: ${error.message}`);
  process.exit(1);
});
console.log(`archive: ${values['dry-run'] ? 'would re-feed' : 're-fed'} ${result.records} records from ${result.objects} error objects`);

/** --local: the quarantine back into the archive; waits for the running npm start to flush it, or flushes it here. */
async function redeliverLocally(): Promise<never> {
  const dir = join(DATA_DIR, 'archive');
  const result = await redeliverLocalErrors(dir, { repair: values.repair === true, dryRun: values['dry-run'] === true });
  console.log(`archive: ${values['dry-run'] ? 'would re-feed' : 're-fed'} ${result.records} records from ${result.objects} quarantined objects`);
  if (values['dry-run'] || result.files.length === 0) process.exit(0);
  if (runningRuntime()) {
    const started = Date.now();
    while (result.files.some((file) => existsSync(file)) && Date.now() - started < 60_000) await new Promise((r) => setTimeout(r, 500));
    console.log(result.files.some((file) => existsSync(file))
      ? 'archive: the running npm start will archive them on its next flush'
      : 'archive: archived by the running npm start (a row it still cannot encode is quarantined again: see its output)');
    process.exit(0);
  }
  const archive = new LocalArchive({
    dir, onQuarantine: (row) => console.error(maskFreeText(`archive: event ${row.id ?? '?'} of org ${row.orgId ?? '?'} quarantined again: ${row.reason}`)),
  });
  await archive.start();
  await archive.stop();
  console.log(`archive: ${result.records - archive.quarantined} archived, ${archive.quarantined} quarantined again`);
  process.exit(archive.quarantined > 0 ? 1 : 0);
}
