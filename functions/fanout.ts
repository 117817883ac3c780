import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { EventBridgeBus } from '../shared/adapters/eventbridge-bus.js';
import { busSink, eventOfRecord, publishRecords, type EventBus, type Sink, type StreamRecordView } from '../shared/domain/fanout.js';
import { archiveSink, type Archive } from '../shared/domain/archive.js';
import { FirehoseArchive } from '../shared/adapters/firehose-archive.js';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { processAlerts, type AlertRaised, type AlertStore } from '../shared/domain/alerts.js';
import { ALERT_DETAIL_TYPE, BUS_SOURCE } from '../shared/definitions/event-rules.js';
import { DynamoAlertStore } from '../shared/adapters/dynamo-alert-store.js';
import { createDocumentClient } from '../shared/adapters/dynamo-client.js';
import { createLogger } from '../shared/http/handler.js';

/**
 * The events table's stream → the leadlog bus and the archive, and the windowed alerts. INSERTs only (the event-source mapping filters too);
 * partial batch responses, so a record that keeps failing holds back only itself and what follows it.
 */
export interface FanoutDependencies {
  bus: EventBus;
  /** Firehose (AWS) or the local Parquet writer: every event, at least once. */
  archive?: Archive;
  alerts?: AlertStore;
}

export function createFanoutHandler({ bus, archive, alerts }: FanoutDependencies) {
  const logger = createLogger('fanout');
  const publishAlert = async (alert: AlertRaised) => {
    const failed = await bus.putEvents([{ Source: BUS_SOURCE, DetailType: ALERT_DETAIL_TYPE, Detail: JSON.stringify(alert), Time: new Date() }]);
    if (failed.length > 0) throw new Error('the bus refused the alert');
  };
  return async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
    const records: StreamRecordView[] = event.Records.map((record) => ({
      ...(record.eventName ? { eventName: record.eventName } : {}),
      sequenceNumber: record.dynamodb?.SequenceNumber ?? '',
      ...(record.dynamodb?.NewImage ? { newImage: unmarshall(record.dynamodb.NewImage as Record<string, AttributeValue>) } : {}),
    }));
    const sinks = [busSink(bus), ...(archive ? [archiveSink(archive)] : [])] as Sink<unknown>[];
    const firstFailed = await publishRecords(sinks, records);
    if (firstFailed !== undefined) logger.warn('bus or archive entries failed after retries', { firstFailed, records: records.length });
    if (alerts) {
      // Count only what was published: a retry from firstFailed then counts the rest exactly once.
      const upTo = firstFailed === undefined ? records.length : records.findIndex((r) => r.sequenceNumber === firstFailed);
      const published = records.slice(0, upTo).flatMap((record) => {
        const event = eventOfRecord(record);
        return event ? [{ event, sequence: record.sequenceNumber }] : [];
      });
      try {
        for (const alert of await processAlerts({ store: alerts, publish: publishAlert }, published)) logger.info('alert raised', { rule: alert.rule_id, org: alert.org_id });
      } catch (error) {
        logger.error('alert evaluation failed; the batch will be retried', { error: error as Error });
        return { batchItemFailures: records.length > 0 ? [{ itemIdentifier: records[0]!.sequenceNumber }] : [] };
      }
    }
    return { batchItemFailures: firstFailed !== undefined ? [{ itemIdentifier: firstFailed }] : [] };
  };
}

function fromEnvironment(): ReturnType<typeof createFanoutHandler> {
  const name = process.env.EVENT_BUS_NAME;
  const control = process.env.CONTROL_TABLE_NAME;
  const stream = process.env.ARCHIVE_STREAM_NAME;
  if (!name || !control || !stream) throw new Error('leadlog configuration: EVENT_BUS_NAME, CONTROL_TABLE_NAME and ARCHIVE_STREAM_NAME are required');
  return createFanoutHandler({
    bus: new EventBridgeBus(new EventBridgeClient({}), name),
    archive: new FirehoseArchive(new FirehoseClient({}), stream),
    alerts: new DynamoAlertStore(createDocumentClient(), control),
  });
}

let configured: ReturnType<typeof createFanoutHandler> | undefined;

/** Built on first use, so the local runtime and tests can import createFanoutHandler without AWS settings. */
export const handler = (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => (configured ??= fromEnvironment())(event);
