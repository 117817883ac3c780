import { randomUUID } from 'node:crypto';
import { BUCKET_MS, WINDOW_MS } from '../../shared/definitions/alert-rules.js';
import { DynamoAlertStore } from '../../shared/adapters/dynamo-alert-store.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { processAlerts } from '../../shared/domain/alerts.js';
import type { LeadEvent } from '../../shared/domain/event.js';

/**
 * Alerts at any volume (contract section 5 v1.2; issue #22): an hour's window filled bucket by bucket on a simulated
 * clock, each bucket receiving the same stream batches. Prints DynamoDB read and write units per event in the first
 * bucket (an empty window) and in the last (a full one), by DynamoDB's rules: a consistent read of an item up to 4 KB
 * is 1 unit (counter items are well under; a key not found costs 1 too), a written item up to 1 KB is 1 unit, 2 inside a transaction. The ratio
 * last/first must stay within 1.2.
 */
/** DynamoDB units per event of the windowed alerts, in the first bucket of the hour and in the last (a full window). */
export interface AlertUnits {
  first: { read: number; write: number };
  last: { read: number; write: number };
  batchesPerBucket: number;
  eventsPerBatch: number;
}

export async function alertsBenchmark(report: (line: string) => void, endpoint: string, controlTable: string): Promise<AlertUnits> {
  const client = createDocumentClient({ endpoint });
  const units = { read: 0, write: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const input = args.input as Record<string, any>;
      const output = result.output as Record<string, any>;
      const name = context.commandName ?? '';
      // Each key asked is a read, found or not (a missing item costs the minimum unit too).
      if (name.startsWith('BatchGet')) units.read += Object.values((input.RequestItems ?? {}) as Record<string, { Keys: unknown[] }>).reduce((sum, request) => sum + request.Keys.length, 0);
      else if (name.startsWith('Get')) units.read += 1;
      else if (name.startsWith('Query')) units.read += Math.max(1, Number(output.Count ?? 0));
      else if (name.startsWith('TransactWrite')) units.write += 2 * (input.TransactItems as unknown[]).length;
      else if (/^(Put|Update|Delete)/.test(name)) units.write += 1;
      return result;
    },
    { step: 'initialize', name: 'alertUnits' },
  );
  const store = new DynamoAlertStore(client, controlTable);
  const orgId = `org_alerts_${randomUUID().slice(0, 8)}`;
  const BATCHES_PER_BUCKET = Number(process.env.BENCH_ALERT_BATCHES ?? 40);
  const EVENTS_PER_BATCH = 50;
  const hourStart = Math.floor(Date.now() / BUCKET_MS) * BUCKET_MS - WINDOW_MS + BUCKET_MS;
  let sequence = 1_000_000_000;
  const perBucket: { read: number; write: number }[] = [];
  for (let bucket = 0; bucket < WINDOW_MS / BUCKET_MS; bucket++) {
    const at = new Date(hourStart + bucket * BUCKET_MS + 1_000).toISOString();
    const before = { ...units };
    for (let b = 0; b < BATCHES_PER_BUCKET; b++) {
      // A processing stream: submissions, a rejection rate under the threshold (nothing raises, every batch evaluates).
      const records = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => ({
        sequence: String(sequence++),
        event: {
          id: randomUUID(), org_id: orgId, lead_id: `l${i}`, source_type: 'internal', source: 'leadconduit', payload: {}, occurred_at: at,
          received_at: at, expires_at: at, schema_version: '1',
          ...(i % 10 === 0 ? { event_type: 'source.rejected', outcome: 'failure', reason: 'Invalid phone' } : { event_type: 'source.submitted', outcome: 'success' }),
        } as LeadEvent,
      }));
      await processAlerts({ store, publish: async () => undefined, nowMs: hourStart + bucket * BUCKET_MS + 2_000 }, records);
    }
    const events = BATCHES_PER_BUCKET * EVENTS_PER_BATCH;
    perBucket.push({ read: (units.read - before.read) / events, write: (units.write - before.write) / events });
  }
  const first = perBucket[0]!;
  const last = perBucket[perBucket.length - 1]!;
  report(`alerts over a filling hour (${BATCHES_PER_BUCKET} batches of ${EVENTS_PER_BATCH} events per 5-minute bucket, 12 buckets):`);
  report(`  first bucket: ${first.read.toFixed(3)} read units, ${first.write.toFixed(3)} write units per event`);
  report(`  last bucket:  ${last.read.toFixed(3)} read units, ${last.write.toFixed(3)} write units per event`);
  const ratio = Math.max(last.read / first.read, last.write / first.write);
  report(`  last/first: ${ratio.toFixed(2)} (target <= 1.20) ${ratio <= 1.2 ? 'ok' : 'OVER'}`);
  client.destroy();
  return { first, last, batchesPerBucket: BATCHES_PER_BUCKET, eventsPerBatch: EVENTS_PER_BATCH };
}
