/**
 * One section of `npm run bench` alone, on its own DynamoDB Local: `npx tsx test/bench/section.ts alerts|sharding|reports|leadconduit|proofs`
 * (reports needs no DynamoDB: DuckDB over Parquet only; leadconduit runs the container as npm start configures it).
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
import { leadconduitBenchmark } from './leadconduit-bench.js';
import { proofsBenchmark } from './proofs-bench.js';
import { localEnvironment } from '../../infra/local/settings.js';
import { configurePseudonymKey } from '../../shared/domain/masking.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const section = process.argv[2];
if (section !== 'alerts' && section !== 'sharding' && section !== 'reports' && section !== 'leadconduit' && section !== 'proofs') {
  console.error('Usage: npx tsx test/bench/section.ts alerts|sharding|reports|leadconduit|proofs');
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
  } else if (section === 'proofs') {
    await proofsBenchmark(console.log, dynamo.endpoint);
  } else if (section === 'leadconduit') {
    Object.assign(process.env, localEnvironment(dynamo.endpoint, names, mkdtempSync(join(tmpdir(), 'leadlog-bench-'))), { POWERTOOLS_LOG_LEVEL: 'SILENT' });
    configurePseudonymKey(process.env.PSEUDONYM_SECRET!);
    const { createDependencies } = await import('../../shared/adapters/container.js');
    await leadconduitBenchmark(console.log, createDependencies());
  } else {
    const client = createDocumentClient({ endpoint: dynamo.endpoint });
    const plans = new DynamoShardPlanStore(client, names.control!);
    const blobs = new FileBlobStore(mkdtempSync(join(tmpdir(), 'leadlog-bench-blobs-')));
    await shardingBenchmark(console.log, new DynamoEventStore(client, names.events!, blobs, plans), plans);
  }
} finally {
  await dynamo.stop();
}
