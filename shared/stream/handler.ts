import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { decodeStreamRecords } from '../adapters/event-item.js';
import { fanOut, type DecodedRecord, type FanoutPorts } from '../domain/fanout.js';
import { systemClock } from '../domain/ports.js';
import { maskError } from '../domain/masking.js';
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
    // Each record decoded on its own: one that cannot be (a corrupt or foreign item) is reported as the failed
    // record, after the records before it are done, so it alone goes to the retries and then the dead-letter queue
    // instead of failing every other org's records of the batch with it.
    const decoded: DecodedRecord[] = [];
    let undecodable: string | undefined;
    for (const record of event.Records) {
      try {
        decoded.push(...decodeStreamRecords([record]));
      } catch (error) {
        undecodable = record.dynamodb?.SequenceNumber ?? '';
        log.error('a stream record cannot be decoded: reported failed (retried, then the dead-letter queue)', { sequence: undecodable, error: maskError(error) });
        break;
      }
    }
    const { failedSequence } = await fanOut(decoded, ports);
    const first = failedSequence ?? undecodable;
    return { batchItemFailures: first !== undefined ? [{ itemIdentifier: first }] : [] };
  };
}
