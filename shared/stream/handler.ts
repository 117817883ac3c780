import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { decodeStreamRecords } from '../adapters/event-item.js';
import { fanOut, type FanoutPorts } from '../domain/fanout.js';
import { systemClock } from '../domain/ports.js';
import { createLogger } from '../http/handler.js';

/** The fan-out's ports; the clock defaults to the system clock, archive and alerts may be left out (tests). */
export type FanoutDependencies = Omit<FanoutPorts, 'clock' | 'log'> & Partial<Pick<FanoutPorts, 'clock'>>;

/**
 * The events table's stream as Lambda delivers it (and as the local poller hands it over): records decoded
 * once per batch by the item codec, the domain's fanOut, and its answer as a partial batch response, so a
 * record that keeps failing holds back only itself and what follows it. INSERTs only (the mapping filters too).
 */
export function createFanoutHandler(deps: FanoutDependencies) {
  const log = createLogger('fanout');
  const ports: FanoutPorts = { ...deps, clock: deps.clock ?? systemClock, log };
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const { failedSequence } = await fanOut(decodeStreamRecords(event.Records), ports);
    return { batchItemFailures: failedSequence !== undefined ? [{ itemIdentifier: failedSequence }] : [] };
  };
}
