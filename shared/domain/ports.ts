import type { BuiltEvent, LeadEvent } from './event.js';
import type { Scope } from '../definitions/routes.js';

/**
 * Ports: the small interfaces the domain and handlers talk to. Adapters (shared/adapters/) implement
 * them over DynamoDB, S3 and files; tests may wrap them to inject faults.
 */
export type PutResult =
  | { status: 'created'; event: LeadEvent }
  | { status: 'duplicate'; event: LeadEvent }
  | { status: 'conflict'; id: string };

export type TypeMatch = { equals: string } | { prefix: string };

export type IndexName = 'by_lead' | 'by_day' | 'by_flow';

export interface RangeQuery {
  index: IndexName;
  /** Partition key values in reading order (one per UTC day for by_day, else one). */
  partitions: string[];
  /** Inclusive lower and exclusive upper bound on occurred_at (epoch ms). */
  fromMs?: number;
  toMs?: number;
  order: 'asc' | 'desc';
  limit: number;
  filters: {
    /** Any of these: an exact type, or a prefix (from `source.*`). */
    eventTypes?: TypeMatch[];
    outcome?: string;
    source?: string;
    leadId?: string;
  };
  include: { leadSnapshot: boolean; rawPayload: boolean };
  /** Continue after this position (decoded from a cursor). */
  after?: PagePosition;
  nowMs: number;
}

/** Where a page ended: the partition index and the sort key of the last item returned. */
export interface PagePosition {
  partition: number;
  timeKey: string;
}

export interface Page {
  items: LeadEvent[];
  next?: PagePosition;
}

export interface EventStore {
  /** One conditional write: created, or the stored twin (duplicate), or a different event under the same id (conflict). */
  put(built: BuiltEvent, nowMs: number): Promise<PutResult>;
  get(orgId: string, id: string, nowMs: number): Promise<LeadEvent | undefined>;
  query(query: RangeQuery): Promise<Page>;
}

/** Claim-check storage for raw payloads too big for an item (S3 in AWS, files under .data/s3 locally). */
export interface BlobStore {
  put(key: string, body: string): Promise<void>;
  get(key: string): Promise<string>;
}

export interface ApiKeyRecord {
  keyId: string;
  orgId: string;
  scopes: Scope[];
  createdAt: string;
  revokedAt?: string;
  label?: string;
}

export interface ApiKeyStore {
  create(record: ApiKeyRecord, keyHash: string): Promise<void>;
  findByHash(keyHash: string): Promise<(ApiKeyRecord & { keyHash: string }) | undefined>;
  list(orgId: string): Promise<ApiKeyRecord[]>;
  revoke(orgId: string, keyId: string, atIso: string): Promise<boolean>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
