import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { sha256Hex } from '../domain/canonical.js';
import { controlKeys } from '../domain/keys.js';
import type { ErasureJob, ErasureStore } from '../domain/ports.js';
import { chunkBy } from '../domain/sink.js';
import { batchWriteAll } from './dynamo-batch.js';
import { queryPartition } from './control-table.js';

/**
 * Erasure jobs in the control table (controlKeys.erasureJob / erasureOfLead / runningErasure): the job with its
 * phase and counts, one item per member lead naming its erasure (keyed by a digest of the lead id, holding no id),
 * and a running mark while it runs. The job holds the plain lead ids only while it runs (a resumed run needs them);
 * completing it stores their pseudonyms instead (runErasure), so nothing here names an erased lead afterwards.
 *
 * No item grows with the family (issue #21 point 5): each list of the job that can (its members, the events it
 * found naming them, the step under way) stays in the job item while short (INLINE_LIST_BYTES) and is otherwise
 * stored as parts (controlKeys.erasureJobPart), each at most PART_BYTES, under a digest of the list's content. The
 * parts are written before the job item that names them and the parts it no longer names are removed after it, so
 * the item on disk always names parts that exist; get() reads them back with one query. The domain sees whole lists.
 */
export class DynamoErasureStore implements ErasureStore {
  /** The stored lists this instance last read or wrote (a save of an unchanged list writes no part again). */
  private readonly lists = new Map<string, KnownList>();
  /** The parts each job's item named when this instance last read or wrote it (sorted `list#digest`s). */
  private readonly named = new Map<string, string>();

  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async create(job: ErasureJob, previous: string | undefined): Promise<ErasureJob> {
    const named = controlKeys.erasureOfLead(job.orgId, job.leadId);
    const { item, parts, refs, written } = this.encode(job);
    await this.putParts(parts, written);
    try {
      await this.client.send(new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.tableName, Item: { ...named, org_id: job.orgId, erasure_id: job.id },
              ConditionExpression: previous ? 'erasure_id = :previous' : 'attribute_not_exists(pk)',
              ...(previous ? { ExpressionAttributeValues: { ':previous': previous } } : {}),
            },
          },
          { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' } },
          { Put: { TableName: this.tableName, Item: { ...controlKeys.runningErasure(job.orgId, job.id), org_id: job.orgId, erasure_id: job.id } } },
        ],
      }));
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      // This job will never be: its parts go (its id is its own, no other job names them).
      await this.removeParts(job.orgId, job.id, new Set());
      this.forget(job);
      const winner = await this.ofLead(job.orgId, job.leadId);
      const standing = winner ? await this.get(job.orgId, winner) : undefined;
      if (!standing) throw error;
      return standing;
    }
    this.named.set(jobKey(job), refs);
    // The other members name it too, so a DELETE of any of them answers this job.
    const others = job.members.filter((member) => member !== job.leadId);
    await batchWriteAll(this.client, this.tableName, others.map((member) => ({
      PutRequest: { Item: { ...controlKeys.erasureOfLead(job.orgId, member), org_id: job.orgId, erasure_id: job.id } },
    })));
    return job;
  }

  async get(orgId: string, erasureId: string): Promise<ErasureJob | undefined> {
    const key = controlKeys.erasureJob(orgId, erasureId);
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    const item = result.Item;
    // A part's key read as a job's (an id carrying `#PART#`) is no job.
    if (!item || item.sk !== key.sk || typeof item.phase !== 'string') return undefined;
    const spilled = LISTS.flatMap((list) => {
      const stored = list.read(item);
      return stored && !Array.isArray(stored) ? [{ list, ref: stored }] : [];
    });
    const completed = item.phase === 'completed';
    const values = new Map<string, string[]>();
    if (spilled.length > 0 || completed) {
      const parts = await queryPartition(this.client, this.tableName, controlKeys.erasureJobParts(orgId, erasureId), ['sk', 'list_values'], { consistent: true });
      const byRef = new Map<string, { n: number; values: string[] }[]>();
      for (const part of parts) {
        const { ref, n } = parsePartKey(String(part.sk));
        byRef.set(ref, [...(byRef.get(ref) ?? []), { n, values: part.list_values as string[] }]);
      }
      for (const { list, ref } of spilled) {
        const found = (byRef.get(`${list.name}#${ref.digest}`) ?? []).sort((a, b) => a.n - b.n).flatMap((part) => part.values);
        // Never a job with a list cut short: a member left out would never be erased.
        if (found.length !== ref.count) throw new Error(`erasure ${erasureId}: ${found.length} of the ${ref.count} values of '${list.name}' are stored`);
        values.set(list.name, found);
        this.lists.set(`${orgId}#${erasureId}#${list.name}`, { values: found, ref });
      }
      const refs = refsOf(spilled.map(({ list, ref }) => `${list.name}#${ref.digest}`));
      this.named.set(`${orgId}#${erasureId}`, refs);
      // A completed job is saved no more: parts an interrupted completion left (the plain ids) go now.
      if (completed && [...byRef.keys()].some((ref) => !refs.split(' ').includes(ref))) await this.removeParts(orgId, erasureId, new Set(refs.split(' ')));
    } else {
      this.named.set(`${orgId}#${erasureId}`, '');
    }
    return fromItem(item, values);
  }

  async ofLead(orgId: string, leadId: string): Promise<string | undefined> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.erasureOfLead(orgId, leadId), ConsistentRead: true }));
    return result.Item?.erasure_id as string | undefined;
  }

  async save(job: ErasureJob): Promise<void> {
    const { item, parts, refs, written } = this.encode(job);
    await this.putParts(parts, written);
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: item }));
    if (this.named.get(jobKey(job)) !== refs) {
      await this.removeParts(job.orgId, job.id, new Set(refs.split(' ')));
      this.named.set(jobKey(job), refs);
    }
    if (job.phase === 'completed') {
      await this.client.send(new DeleteCommand({ TableName: this.tableName, Key: controlKeys.runningErasure(job.orgId, job.id) }));
      this.forget(job);
    }
  }

  async running(): Promise<{ orgId: string; id: string }[]> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.runningErasures().pk, ['org_id', 'erasure_id'], { consistent: true });
    return items.map((item) => ({ orgId: item.org_id as string, id: item.erasure_id as string }));
  }

  /**
   * The job item, and the parts it names that this instance has not already stored (the same content is the same
   * parts); `written`: what to remember once those parts are stored.
   */
  private encode(job: ErasureJob): { item: Record<string, unknown>; parts: Record<string, unknown>[]; refs: string; written: [string, KnownList][] } {
    const stored = new Map<string, string[] | SpilledList>();
    const parts: Record<string, unknown>[] = [];
    const written: [string, KnownList][] = [];
    const refs: string[] = [];
    for (const list of LISTS) {
      const values = list.of(job);
      if (!values) continue;
      if (listBytes(values) <= INLINE_LIST_BYTES) {
        stored.set(list.name, values);
        continue;
      }
      const cacheKey = `${jobKey(job)}#${list.name}`;
      const known = this.lists.get(cacheKey);
      let ref: SpilledList;
      if (known && sameValues(known.values, values)) {
        ref = known.ref;
      } else {
        const slices = chunkBy(values, Number.POSITIVE_INFINITY, PART_BYTES, valueBytes);
        ref = { digest: sha256Hex(JSON.stringify(values)).slice(0, 16), parts: slices.length, count: values.length };
        slices.forEach((slice, n) => parts.push({
          ...controlKeys.erasureJobPart(job.orgId, job.id, list.name, ref.digest, n), org_id: job.orgId, erasure_id: job.id, list_values: slice,
        }));
        written.push([cacheKey, { values: [...values], ref }]);
      }
      stored.set(list.name, ref);
      refs.push(`${list.name}#${ref.digest}`);
    }
    return { item: toItem(job, stored), parts, refs: refsOf(refs), written };
  }

  private async putParts(parts: Record<string, unknown>[], written: [string, KnownList][]): Promise<void> {
    await batchWriteAll(this.client, this.tableName, parts.map((Item) => ({ PutRequest: { Item } })));
    for (const [key, list] of written) this.lists.set(key, list);
  }

  /** Deletes the job's parts whose list content (`list#digest`) is not in `keep`. */
  private async removeParts(orgId: string, erasureId: string, keep: Set<string>): Promise<void> {
    const parts = await queryPartition(this.client, this.tableName, controlKeys.erasureJobParts(orgId, erasureId), ['pk', 'sk'], { consistent: true });
    const stale = parts.filter((part) => !keep.has(parsePartKey(String(part.sk)).ref));
    await batchWriteAll(this.client, this.tableName, stale.map((part) => ({ DeleteRequest: { Key: { pk: part.pk, sk: part.sk } } })));
  }

  private forget(job: ErasureJob): void {
    this.named.delete(jobKey(job));
    for (const list of LISTS) this.lists.delete(`${jobKey(job)}#${list.name}`);
  }
}

/** A list kept in the job item while its values take at most this many bytes (about 20 long lead ids); longer, in parts. */
export const INLINE_LIST_BYTES = 16 * 1024;
/** What one part holds at most (UTF-8 bytes of its values and DynamoDB's byte per element): well under the 400 KB item limit. */
export const PART_BYTES = 128 * 1024;

/** How the job item names a list stored as parts: the digest of its content, how many parts, how many values. */
interface SpilledList {
  digest: string;
  parts: number;
  count: number;
}

type StoredList = string[] | SpilledList;
/** A list as stored in parts, with the values they hold. */
type KnownList = { values: readonly string[]; ref: SpilledList };

/** The lists of a job that can grow: where each lives on the job and in its item. */
const LISTS: { name: string; of: (job: ErasureJob) => string[] | undefined; read: (item: Record<string, unknown>) => StoredList | undefined }[] = [
  { name: 'members', of: (job) => job.members, read: (item) => item.members as StoredList | undefined },
  { name: 'mentioned', of: (job) => (job.mentioned?.length ? job.mentioned : undefined), read: (item) => item.mentioned as StoredList | undefined },
  ...(['events', 'claims', 'profiles'] as const).map((field) => ({
    name: `pending_${field}`,
    of: (job: ErasureJob) => job.pending?.[field],
    read: (item: Record<string, unknown>) => (item.pending as Record<string, StoredList> | undefined)?.[field],
  })),
];

const jobKey = (job: ErasureJob) => `${job.orgId}#${job.id}`;
const valueBytes = (value: string) => Buffer.byteLength(value) + 1;
const listBytes = (values: readonly string[]) => values.reduce((sum, value) => sum + valueBytes(value), 0);
const sameValues = (a: readonly string[], b: readonly string[]) => a === b || (a.length === b.length && a.every((value, i) => value === b[i]));
const refsOf = (refs: string[]) => [...refs].sort().join(' ');

/** `JOB#<id>#PART#<list>#<digest>#<n>` → `<list>#<digest>` and n. */
function parsePartKey(sk: string): { ref: string; n: number } {
  const [list, digest, n] = sk.slice(sk.indexOf('#PART#') + '#PART#'.length).split('#');
  return { ref: `${list}#${digest}`, n: Number(n) };
}

function toItem(job: ErasureJob, lists: Map<string, StoredList>): Record<string, unknown> {
  return {
    ...controlKeys.erasureJob(job.orgId, job.id),
    org_id: job.orgId, erasure_id: job.id, lead_id: job.leadId, members: lists.get('members'), phase: job.phase, counts: job.counts,
    requested_at: job.requestedAt, key_id: job.keyId, request_id: job.requestId,
    ...(job.settleUntil ? { settle_until: job.settleUntil } : {}),
    ...(job.pending ? { pending: { events: lists.get('pending_events'), claims: lists.get('pending_claims'), profiles: lists.get('pending_profiles') } } : {}),
    ...(lists.has('mentioned') ? { mentioned: lists.get('mentioned') } : {}),
    // The inbox phase's position: one page's digests at most (16 hex each, ~1,000), inline.
    ...(job.inbox ? { inbox: job.inbox } : {}),
    ...(job.completedAt ? { completed_at: job.completedAt } : {}),
  };
}

/** The job from its item, with the lists read from parts (`values`, by list name) in place of their references. */
function fromItem(item: Record<string, unknown>, values: Map<string, string[]>): ErasureJob {
  const list = (name: string, stored: unknown) => values.get(name) ?? (stored as string[]);
  const pending = item.pending as Record<string, unknown> | undefined;
  return {
    orgId: item.org_id as string, id: item.erasure_id as string, leadId: item.lead_id as string, members: list('members', item.members),
    phase: item.phase as ErasureJob['phase'], counts: item.counts as ErasureJob['counts'], requestedAt: item.requested_at as string,
    keyId: item.key_id as string, requestId: item.request_id as string,
    ...(item.settle_until ? { settleUntil: item.settle_until as string } : {}),
    ...(pending ? {
      pending: { events: list('pending_events', pending.events), claims: list('pending_claims', pending.claims), profiles: list('pending_profiles', pending.profiles) },
    } : {}),
    ...(item.mentioned ? { mentioned: list('mentioned', item.mentioned) } : {}),
    ...(item.inbox ? { inbox: item.inbox as NonNullable<ErasureJob['inbox']> } : {}),
    ...(item.completed_at ? { completedAt: item.completed_at as string } : {}),
  };
}
