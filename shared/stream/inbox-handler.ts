import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mapWithConcurrency } from '../domain/concurrency.js';
import { processInboxObject, type InboxOutcome, type InboxPorts } from '../domain/leadconduit/inbox.js';
import { maskError } from '../domain/masking.js';
import { createLogger } from '../http/handler.js';

/**
 * S3 event notifications as SQS delivers them to the inbox function (functions/leadconduitInbox.ts): each message's
 * objects go through processInboxObject; a message whose object could not be finished (DynamoDB or S3 failing, a
 * message that is no S3 notification of the inbox bucket) is reported in `batchItemFailures`, so only it comes back
 * (and after INBOX_MAX_RECEIVES receives lands in the alarmed dead-letter queue); the others are deleted.
 */

/** What one SQS message from S3 holds: S3's test event (sent once when the notification is configured), or object keys. */
export type InboxNotification = { kind: 'test' } | { kind: 'objects'; objects: { bucket: string; key: string }[] };

/**
 * An S3 notification key, decoded: S3 URL-encodes keys in notifications (form encoding: `+` is a space, a real `+` is
 * `%2B`). Throws URIError on malformed escapes, which no S3 notification holds.
 */
export function decodeNotificationKey(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, '%20'));
}

/** The notification in an SQS message body; throws (the message then fails, and ends in the dead-letter queue) if it is none. */
export function parseNotification(body: string): InboxNotification {
  const parsed = JSON.parse(body) as { Event?: unknown; Service?: unknown; Records?: unknown };
  if (parsed && parsed.Service === 'Amazon S3' && parsed.Event === 's3:TestEvent') return { kind: 'test' };
  if (!parsed || !Array.isArray(parsed.Records)) throw new Error('not an S3 event notification (no Records)');
  const objects: { bucket: string; key: string }[] = [];
  for (const record of parsed.Records as { eventSource?: unknown; eventName?: unknown; s3?: { bucket?: { name?: unknown }; object?: { key?: unknown } } }[]) {
    if (record?.eventSource !== 'aws:s3') throw new Error(`not an S3 record (eventSource ${String(record?.eventSource)})`);
    // The bucket notifies ObjectCreated only; anything else (a configuration someone added by hand) has nothing to ingest.
    if (typeof record.eventName !== 'string' || !record.eventName.startsWith('ObjectCreated:')) continue;
    const bucket = record.s3?.bucket?.name;
    const key = record.s3?.object?.key;
    if (typeof bucket !== 'string' || typeof key !== 'string') throw new Error('an S3 record without its bucket name or object key');
    objects.push({ bucket, key: decodeNotificationKey(key) });
  }
  return { kind: 'objects', objects };
}

export interface InboxHandlerDependencies {
  ports: InboxPorts;
  /** The inbox bucket: a notification naming any other is refused (the function may read no other anyway). */
  bucket: string;
  now?: () => number;
  /** Messages handled side by side (each one object; a batch holds up to 10). */
  concurrency?: number;
}

export function createInboxHandler(deps: InboxHandlerDependencies) {
  const log = createLogger('leadconduitInbox');
  const now = deps.now ?? Date.now;
  return async (event: SQSEvent): Promise<SQSBatchResponse> => {
    const failed: string[] = [];
    await mapWithConcurrency(event.Records, deps.concurrency ?? 4, async (message) => {
      try {
        const notification = parseNotification(message.body);
        if (notification.kind === 'test') return log.info('S3 test event ignored');
        for (const { bucket, key } of notification.objects) {
          if (bucket !== deps.bucket) throw new Error(`a notification of another bucket (${bucket})`);
          const outcome: InboxOutcome = await processInboxObject(deps.ports, key, now());
          // Keys name an org and LeadConduit's lead and event ids (24-hex), never a person; a reason may quote the object: not logged.
          log.info('inbox object', { key, outcome: outcome.outcome });
        }
      } catch (error) {
        failed.push(message.messageId);
        log.error('inbox message failed: reported for a retry (then the dead-letter queue)', { message_id: message.messageId, error: maskError(error) });
      }
    });
    return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
  };
}
