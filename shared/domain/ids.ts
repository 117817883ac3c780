import { v5 as uuidv5, v7 as uuidv7 } from 'uuid';

/** Fixed namespace for leadlog's name-based (v5) event ids. Changing it would break idempotency. */
export const EVENT_ID_NAMESPACE = '6f1c2b9e-3d4a-5e8f-9a7b-1c2d3e4f5a6b';

/**
 * An event's id. With an idempotency key (external_event_id, else the Idempotency-Key header) it is
 * UUIDv5(org_id:source:key), so every retry of the same delivery lands on the same DynamoDB item;
 * without one it is a fresh, time-ordered UUIDv7.
 */
export function eventIdFor(orgId: string, source: string, idempotencyKey: string | undefined): string {
  return idempotencyKey === undefined ? uuidv7() : uuidv5(`${orgId}:${source}:${idempotencyKey}`, EVENT_ID_NAMESPACE);
}

export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
