import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { EventBridgeBus } from '../shared/adapters/eventbridge-bus.js';
import { publishRecords, type EventBus, type StreamRecordView } from '../shared/domain/fanout.js';
import { createLogger } from '../shared/http/handler.js';

/**
 * The events table's stream → the leadlog bus. INSERTs only (the event-source mapping filters too);
 * partial batch responses, so a record that keeps failing holds back only itself and what follows it.
 */
export function createFanoutHandler(bus: EventBus) {
  const logger = createLogger('fanout');
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const records: StreamRecordView[] = event.Records.map((record) => ({
      ...(record.eventName ? { eventName: record.eventName } : {}),
      sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
      ...(record.dynamodb?.NewImage ? { newImage: unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) } : {}),
    }));
    const firstFailed = await publishRecords(bus, records);
    if (firstFailed !== undefined) logger.warn('bus entries failed after retries', { firstFailed, records: records.length });
    return { batchItemFailures: firstFailed !== undefined ? [{ itemIdentifier: firstFailed }] : [] };
  };
}

function busFromEnvironment(): EventBus {
  const name = process.env.EVENT_BUS_NAME;
  if (!name) throw new Error('leadlog configuration: EVENT_BUS_NAME is required');
  return new EventBridgeBus(new EventBridgeClient({}), name);
}

let configured: ReturnType<typeof createFanoutHandler> | undefined;

/** Built on first use, so the local runtime and tests can import createFanoutHandler without AWS settings. */
export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => (configured ??= createFanoutHandler(busFromEnvironment()))(event);
