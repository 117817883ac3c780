import { join } from 'node:path';
import { inject } from 'vitest';
import { LocalBus } from '../../infra/local/local-bus.js';
import type { LocalArchive } from '../../infra/local/local-archive.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { createFanoutDependencies } from '../../shared/adapters/container.js';
import { loadConfig } from '../../shared/config.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';

/**
 * Runs the events table's stream (DynamoDB Local's, every org's new records since the last drain) through the real
 * fan-out into `archive` and `bus`, as `npm start` does, once; the checkpoint lives in `archiveDir`.
 */
export function drainStream(archive: LocalArchive, archiveDir: string, bus: LocalBus = new LocalBus({ rules: [] })): Promise<unknown> {
  return new StreamPoller({
    endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, batchSize: 1000, checkpointFile: join(archiveDir, 'checkpoint.json'),
    handler: createFanoutHandler(createFanoutDependencies(loadConfig(), { bus, archive })),
  }).drain();
}
