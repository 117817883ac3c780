import { parseArgs } from 'node:util';
import { redeliverErrors } from '../shared/adapters/archive-redelivery.js';
import { createFirehoseClient, createS3Client } from '../shared/adapters/aws-clients.js';

/**
 * `npm run archive -- redeliver --bucket <ArchiveBucketName> --stream <delivery stream> [--dry-run]`: re-feeds what
 * Firehose could not deliver (the archive bucket's errors/ prefix) into the delivery stream, then deletes each
 * object it re-fed. AWS only: the local archive never sets rows aside.
 */
const usage = `usage: npm run archive -- redeliver --bucket <ArchiveBucketName output> --stream <delivery stream name> [--dry-run]

  Re-feeds the archive's errors/ prefix (records Firehose could not deliver: partition quota exceeded,
  conversion failures) into the delivery stream, object by object, deleting each once Firehose accepted
  every record of it. --dry-run only counts. Uses your AWS credentials (AWS_REGION, AWS_PROFILE).
  Locally there is nothing to re-feed: the local archive never sets rows aside.`;

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { bucket: { type: 'string' }, stream: { type: 'string' }, 'dry-run': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
  allowPositionals: true,
  strict: false,
});
if (values.help || positionals[0] !== 'redeliver' || typeof values.bucket !== 'string' || typeof values.stream !== 'string') {
  console.log(usage);
  process.exit(values.help ? 0 : 2);
}
const started = Date.now();
let last = 0;
const result = await redeliverErrors(
  { s3: createS3Client(), firehose: createFirehoseClient() },
  {
    bucket: values.bucket, stream: values.stream, dryRun: values['dry-run'] === true,
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
