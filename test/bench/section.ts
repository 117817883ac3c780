/**
 * One section of `npm run bench` alone, on its own DynamoDB Local: `npx tsx test/bench/section.ts alerts|sharding|reports`
 * (reports needs no DynamoDB: DuckDB over Parquet only).
 * The figures are the same code's as in the full run (test/bench/run.ts calls the same functions).
 */
import { ensureTables, startDynamoLocal } from '../../infra/local/dynamo.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { FileBlobStore } from '../../shared/adapters/blob-stores.js';
import { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { DynamoShardPlanStore } from '../../shared/adapters/dynamo-shard-plan-store.js';
import { alertsBenchmark } from './alerts-bench.js';
import { shardingBenchmark } from './sharding-bench.js';
import { reportsBenchmark } from './reports-bench.js';
import { configurePseudonymKey } from '../../shared/domain/masking.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const section = process.argv[2];
if (section !== 'alerts' && section !== 'sharding' && section !== 'reports') {
  console.error('Usage: npx tsx test/bench/section.ts alerts|sharding|reports');
  process.exit(2);
}
if (section === 'reports') {
  configurePseudonymKey('leadlog-bench-pseudonym-key-0123456789abcdef'); // ids are archived masked, as npm start does
  await reportsBenchmark(console.log);
  process.exit(0);
}
const dynamo = await startDynamoLocal();
try {
  const names = await ensureTables(dynamo.endpoint, `bench-${section}`);
  if (section === 'alerts') {
    await alertsBenchmark(console.log, dynamo.endpoint, names.control!);
  } else {
    const client = createDocumentClient({ endpoint: dynamo.endpoint });
    const plans = new DynamoShardPlanStore(client, names.control!);
    const blobs = new FileBlobStore(mkdtempSync(join(tmpdir(), 'leadlog-bench-blobs-')));
    await shardingBenchmark(console.log, new DynamoEventStore(client, names.events!, blobs, plans), plans);
  }
} finally {
  await dynamo.stop();
}
