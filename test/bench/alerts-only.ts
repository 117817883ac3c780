/** `npx tsx test/bench/alerts-only.ts`: the alerts section of `npm run bench` alone, on its own DynamoDB Local. */
import { alertsBenchmark } from './alerts-bench.js';
import { ensureTables, startDynamoLocal } from '../../infra/local/dynamo.js';

const dynamo = await startDynamoLocal();
try {
  const names = await ensureTables(dynamo.endpoint, 'alerts-bench');
  await alertsBenchmark(console.log, dynamo.endpoint, names.control!);
} finally {
  await dynamo.stop();
}
