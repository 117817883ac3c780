import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { countIdentities, IDENTITY_KINDS } from '../definitions/identity-limits.js';
import { controlKeys, identityDigest, leadDigest } from '../domain/keys.js';
import { queryPartition } from './control-table.js';
import { batchGetAll, batchWriteAll } from './dynamo-batch.js';
import type { IdentityCounts, IdentityStore, LeadProfile, LeadRecord, LinkRequest, MergeOutcome, MergeRequest } from '../domain/ports.js';

type Kind = keyof IdentityCounts;
const KINDS = IDENTITY_KINDS;
/** The profile attribute counting one kind of person identity. */
const COUNT: Record<Kind, string> = { email: 'n_email', phone: 'n_phone', ref: 'n_ref' };
/** DynamoDB's cap on the items of one transaction. */
const MAX_TRANSACTION_ITEMS = 100;

type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

/** ExpressionAttributeValues, left out when empty (DynamoDB refuses an empty map). */
const withValues = (values: Record<string, unknown>) => (Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {});

const kindOf = (key: string): Kind => key.slice(0, key.indexOf(':')) as Kind;

/**
 * A condition on a profile's counts and the expression parts that go with it: `cap` (count ≤ value, absent = 0) or
 * `equals` (count = value, absent = 0). Each transaction item has its own name space, so names repeat across items.
 */
function countCondition(kind: Kind, op: 'cap' | 'equals', value: number): { expression: string; values: Record<string, number> } {
  const name = COUNT[kind];
  const placeholder = `:${op}_${kind}`;
  if (op === 'cap') return { expression: `(attribute_not_exists(${name}) OR ${name} <= ${placeholder})`, values: { [placeholder]: value } };
  if (value === 0) return { expression: `(attribute_not_exists(${name}) OR ${name} = ${placeholder})`, values: { [placeholder]: 0 } };
  return { expression: `${name} = ${placeholder}`, values: { [placeholder]: value } };
}

/** `ADD n_email :add_email, …` for the kinds with a non-zero delta (and `n_split` by `splits`, when not 0). */
function addCounts(delta: IdentityCounts, sign: 1 | -1, splits = 0): { clause: string; values: Record<string, number> } {
  const kinds = KINDS.filter((kind) => delta[kind] !== 0);
  const parts = [...kinds.map((kind) => `${COUNT[kind]} :add_${kind}`), ...(splits !== 0 ? ['n_split :add_split'] : [])];
  return {
    clause: parts.length === 0 ? '' : `ADD ${parts.join(', ')}`,
    values: { ...Object.fromEntries(kinds.map((kind) => [`:add_${kind}`, sign * delta[kind]])), ...(splits !== 0 ? { ':add_split': splits } : {}) },
  };
}

/** `n_split = value` (absent = 0) under its own placeholder. */
function splitsEqual(value: number): { expression: string; values: Record<string, number> } {
  return value === 0
    ? { expression: '(attribute_not_exists(n_split) OR n_split = :splits)', values: { ':splits': 0 } }
    : { expression: 'n_split = :splits', values: { ':splits': value } };
}

function profileOf(item: Record<string, unknown>): LeadProfile {
  return {
    counts: { email: Number(item.n_email ?? 0), phone: Number(item.n_phone ?? 0), ref: Number(item.n_ref ?? 0) },
    splits: Number(item.n_split ?? 0),
    ...(item.created_at ? { firstSeenAt: item.created_at as string } : {}),
    ...(item.merged_into ? { mergedInto: item.merged_into as string } : {}),
    ...(item.merged_via ? { mergedVia: item.merged_via as string } : {}),
    ...(item.merged_at ? { mergedAt: item.merged_at as string } : {}),
    ...(item.unmerged_from_digest ? { unmerged: { fromDigest: item.unmerged_from_digest as string, at: item.unmerged_at as string } } : {}),
  };
}

/** Which items of a cancelled transaction failed their condition (their index), and the old items returned. */
function cancelled(error: unknown): { failed: Set<number>; old: Map<number, Record<string, unknown>> } | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  const failed = new Set<number>();
  const old = new Map<number, Record<string, unknown>>();
  (error.CancellationReasons ?? []).forEach((reason, index) => {
    if (reason.Code === 'ConditionalCheckFailed') failed.add(index);
    if (reason.Item) old.set(index, unmarshall(reason.Item));
  });
  return { failed, old };
}

/**
 * In the control table (layout: controlKeys in shared/domain/keys.ts): one claim item per identity (keyed by a hash,
 * so no e-mail or phone number sits in a key: {lead_id}, the first claim wins), and per lead a partition of small
 * items: its profile (first seen, merged_into, the counts of its subtree's person identities), one item per person
 * identity it claimed, one per lead merged into it, one per lead split from it. No item grows with a family: every
 * list is a set of items, and the limits are checked on the counts inside the transactions that link and merge.
 */
export class DynamoIdentityStore implements IdentityStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async find(orgId: string, keys: string[]): Promise<Map<string, string>> {
    const owners = await this.owners(orgId, keys.map(identityDigest));
    return new Map(keys.flatMap((key) => {
      const owner = owners.get(identityDigest(key));
      return owner === undefined ? [] : [[key, owner] as const];
    }));
  }

  private claimItem(orgId: string, key: string, leadId: string, nowIso: string): Record<string, unknown> {
    return { ...controlKeys.identity(orgId, key), org_id: orgId, lead_id: leadId, kind: kindOf(key), created_at: nowIso };
  }

  async claim(orgId: string, key: string, leadId: string, nowIso: string): Promise<string> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName, Item: this.claimItem(orgId, key, leadId, nowIso),
        ConditionExpression: 'attribute_not_exists(pk)', ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return leadId;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException && error.Item) return unmarshall(error.Item).lead_id as string;
      throw error;
    }
  }

  async link(orgId: string, request: LinkRequest): Promise<boolean> {
    // Each transaction holds at most 100 items: 2 per person key, 1 per object, 1 per lead of the chain. A request
    // too big for one goes in parts, each whole on its own; the caps shrink by what the parts before added.
    const room = MAX_TRANSACTION_ITEMS - request.chain.length;
    let { keys, objects } = request;
    const caps = { ...request.caps };
    do {
      const keyPart = keys.slice(0, Math.floor(room / 2));
      const objectPart = objects.slice(0, room - 2 * keyPart.length);
      if (!(await this.linkPart(orgId, { ...request, keys: keyPart, objects: objectPart, caps }))) return false;
      for (const [kind, added] of Object.entries(countIdentities(keyPart)) as [Kind, number][]) if (caps[kind] !== undefined) caps[kind] -= added;
      keys = keys.slice(keyPart.length);
      objects = objects.slice(objectPart.length);
    } while (keys.length > 0 || objects.length > 0);
    return true;
  }

  private async linkPart(orgId: string, { chain, keys, objects, caps, nowIso }: LinkRequest): Promise<boolean> {
    const claimant = chain[0]!;
    const items: TransactItem[] = [];
    for (const key of keys) {
      items.push({ Put: { TableName: this.tableName, Item: this.claimItem(orgId, key, claimant, nowIso), ConditionExpression: 'attribute_not_exists(pk)' } });
      items.push({ Put: { TableName: this.tableName, Item: { ...controlKeys.leadIdentity(orgId, claimant, key), org_id: orgId, lead_id: claimant, key, created_at: nowIso } } });
    }
    for (const key of objects) {
      items.push({ Put: { TableName: this.tableName, Item: this.claimItem(orgId, key, claimant, nowIso), ConditionExpression: 'attribute_not_exists(pk)' } });
    }
    const delta = countIdentities(keys);
    const add = addCounts(delta, 1);
    // Nothing counted: the claimant's profile is only made sure of (first seen); no chain to hold.
    const counted = keys.length > 0 ? chain : [claimant];
    counted.forEach((lead, i) => {
      const last = i === counted.length - 1;
      const conditions = keys.length === 0 ? [] : [last ? 'attribute_not_exists(merged_into)' : 'merged_into = :next'];
      const values: Record<string, unknown> = last || keys.length === 0 ? {} : { ':next': counted[i + 1] };
      if (last) {
        for (const kind of KINDS.filter((k) => delta[k] > 0 && caps[k] !== undefined)) {
          const condition = countCondition(kind, 'cap', caps[kind]!);
          conditions.push(condition.expression);
          Object.assign(values, condition.values);
        }
      }
      const set = i === 0 ? 'SET created_at = if_not_exists(created_at, :now), org_id = :org, lead_id = :lead' : '';
      if (i === 0) Object.assign(values, { ':now': nowIso, ':org': orgId, ':lead': lead });
      const update = [set, add.clause].filter(Boolean).join(' ');
      const key = controlKeys.leadProfile(orgId, lead);
      const condition = conditions.length > 0 ? { ConditionExpression: conditions.join(' AND ') } : {};
      if (update === '') {
        items.push({ ConditionCheck: { TableName: this.tableName, Key: key, ConditionExpression: conditions.join(' AND '), ...withValues(values) } });
      } else {
        items.push({ Update: { TableName: this.tableName, Key: key, UpdateExpression: update, ...condition, ...withValues({ ...values, ...add.values }) } });
      }
    });
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (error) {
      if (cancelled(error)) return false; // a key claimed meanwhile, the chain moved, a count grew, or a conflict
      throw error;
    }
  }

  async profile(orgId: string, leadId: string): Promise<LeadProfile | undefined> {
    // Consistent: merges decide on it, and a merge must see the one before it.
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.leadProfile(orgId, leadId), ConsistentRead: true }));
    return result.Item ? profileOf(result.Item) : undefined;
  }

  async lead(orgId: string, leadId: string): Promise<LeadRecord> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.leadPartition(orgId, leadId), undefined, { consistent: true });
    const record: LeadRecord = { profile: undefined, identities: [], mergedFrom: [], splits: [], mentions: [] };
    for (const item of items) {
      const sk = item.sk as string;
      if (sk === 'PROFILE') {
        record.profile = profileOf(item);
        // Written before identities and merges became items of their own: read as if they were.
        record.identities.push(...((item.identities as Set<string> | undefined) ?? []));
        record.mergedFrom.push(...[...((item.merged_from as Set<string> | undefined) ?? [])].map((lead) => ({ lead })));
      } else if (sk.startsWith('ID#')) {
        record.identities.push(item.key as string);
      } else if (sk.startsWith('MERGED#')) {
        record.mergedFrom.push({ lead: item.from as string, identity: item.identity as string, mergedAt: item.merged_at as string });
      } else if (sk.startsWith('SPLIT#')) {
        record.splits.push(sk.slice('SPLIT#'.length));
      } else if (sk.startsWith('MENTION#')) {
        record.mentions.push({ eventId: item.event_id as string, leadDigest: item.on_lead_digest as string });
      }
    }
    record.identities = [...new Set(record.identities)];
    record.mergedFrom = [...new Map(record.mergedFrom.map((merge) => [merge.lead, merge])).values()];
    return record;
  }

  async merge(orgId: string, { from, into, identity, fromCounts, caps, fromSplits, intoSplits, nowIso }: MergeRequest): Promise<MergeOutcome> {
    const fromConditions = [...KINDS.map((kind) => countCondition(kind, 'equals', fromCounts[kind])), splitsEqual(fromSplits)];
    const intoConditions = [...KINDS.filter((kind) => fromCounts[kind] > 0).map((kind) => countCondition(kind, 'cap', caps[kind])), splitsEqual(intoSplits)];
    const add = addCounts(fromCounts, 1, fromSplits);
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName, Key: controlKeys.leadProfile(orgId, from),
          ConditionExpression: ['attribute_not_exists(merged_into)', ...fromConditions.map((c) => c.expression)].join(' AND '),
          UpdateExpression: 'SET merged_into = :into, merged_at = :now, merged_via = :via, created_at = if_not_exists(created_at, :now), org_id = :org, lead_id = :from',
          ExpressionAttributeValues: { ':into': into, ':now': nowIso, ':via': identity, ':org': orgId, ':from': from, ...Object.assign({}, ...fromConditions.map((c) => c.values)) },
        },
      },
      { Put: { TableName: this.tableName, Item: { ...controlKeys.leadMerge(orgId, into, from), org_id: orgId, from, identity, merged_at: nowIso } } },
      {
        Update: {
          TableName: this.tableName, Key: controlKeys.leadProfile(orgId, into),
          ConditionExpression: ['attribute_not_exists(merged_into)', ...intoConditions.map((c) => c.expression)].join(' AND '),
          UpdateExpression: ['SET created_at = if_not_exists(created_at, :now), org_id = :org, lead_id = :into', add.clause].filter(Boolean).join(' '),
          ExpressionAttributeValues: { ':now': nowIso, ':org': orgId, ':into': into, ...add.values, ...Object.assign({}, ...intoConditions.map((c) => c.values)) },
        },
      },
      { ConditionCheck: { TableName: this.tableName, Key: controlKeys.leadSplit(orgId, from, into), ConditionExpression: 'attribute_not_exists(pk)' } },
    ];
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return 'merged';
    } catch (error) {
      const reasons = cancelled(error);
      if (!reasons) throw error;
      if (reasons.failed.has(3)) return 'unmerged';
      if (reasons.failed.has(2) && !reasons.failed.has(0)) {
        // `into` failed: merged meanwhile (retry), or over a cap (a limit, if it still is on a fresh read).
        const fresh = await this.profile(orgId, into);
        if (fresh && !fresh.mergedInto && KINDS.some((kind) => fromCounts[kind] > 0 && fresh.counts[kind] > caps[kind])) return 'limit';
      }
      return 'retry';
    }
  }

  async unmerge(orgId: string, { lead, chain, counts, splits, nowIso }: { lead: string; chain: string[]; counts: IdentityCounts; splits: number; nowIso: string }): Promise<boolean> {
    const parent = chain[0]!;
    const own = [...KINDS.map((kind) => countCondition(kind, 'equals', counts[kind])), splitsEqual(splits)];
    // Every lead of the chain loses the lead's subtree (its counts, its split marks) and gains the parent's new mark.
    const subtract = addCounts(counts, -1, 1 - splits);
    const items: TransactItem[] = [
      {
        Update: {
          TableName: this.tableName, Key: controlKeys.leadProfile(orgId, lead),
          ConditionExpression: ['merged_into = :parent', ...own.map((c) => c.expression)].join(' AND '),
          // The parent by digest only: it may be erased while this lead lives on.
          UpdateExpression: 'SET unmerged_from_digest = :parentDigest, unmerged_at = :now ADD n_split :one REMOVE merged_into, merged_at, merged_via',
          ExpressionAttributeValues: { ':parent': parent, ':parentDigest': leadDigest(parent), ':now': nowIso, ':one': 1, ...Object.assign({}, ...own.map((c) => c.values)) },
        },
      },
      { Delete: { TableName: this.tableName, Key: controlKeys.leadMerge(orgId, parent, lead) } },
      ...chain.map((ancestor, i): TransactItem => {
        const last = i === chain.length - 1;
        const condition = last ? 'attribute_not_exists(merged_into)' : 'merged_into = :next';
        const values = last ? {} : { ':next': chain[i + 1] };
        // The parent may list it the way profiles did before merges became items of their own.
        const legacy = i === 0 ? { clause: 'DELETE merged_from :lead', values: { ':lead': new Set([lead]) } } : { clause: '', values: {} };
        const update = [subtract.clause, legacy.clause].filter(Boolean).join(' ');
        const key = controlKeys.leadProfile(orgId, ancestor);
        if (update === '') return { ConditionCheck: { TableName: this.tableName, Key: key, ConditionExpression: condition, ...withValues(values) } };
        return { Update: { TableName: this.tableName, Key: key, ConditionExpression: condition, UpdateExpression: update, ...withValues({ ...values, ...subtract.values, ...legacy.values }) } };
      }),
      { Put: { TableName: this.tableName, Item: { ...controlKeys.leadSplit(orgId, lead, parent), org_id: orgId, split_at: nowIso } } },
      { Put: { TableName: this.tableName, Item: { ...controlKeys.leadSplit(orgId, parent, lead), org_id: orgId, split_at: nowIso } } },
    ];
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return true;
    } catch (error) {
      if (cancelled(error)) return false;
      throw error;
    }
  }

  async mention(orgId: string, leadId: string, { eventId, lead }: { eventId: string; lead: string }): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...controlKeys.leadMention(orgId, leadId, eventId), org_id: orgId, event_id: eventId, on_lead_digest: leadDigest(lead) } }));
  }

  async owners(orgId: string, identityDigests: string[]): Promise<Map<string, string>> {
    const byPk = new Map(identityDigests.map((digest) => [controlKeys.identityByDigest(orgId, digest).pk, digest]));
    const items = await batchGetAll(this.client, this.tableName, identityDigests.map((digest) => controlKeys.identityByDigest(orgId, digest)), { consistent: true });
    return new Map(items.map((item) => [byPk.get(item.pk as string)!, item.lead_id as string]));
  }

  async release(orgId: string, identityDigest: string, owner: string): Promise<void> {
    try {
      // Only while that lead still holds it: an identity claimed anew meanwhile (a new person) stays.
      await this.client.send(new DeleteCommand({
        TableName: this.tableName, Key: controlKeys.identityByDigest(orgId, identityDigest),
        ConditionExpression: 'lead_id = :lead', ExpressionAttributeValues: { ':lead': owner },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async removeProfile(orgId: string, leadId: string): Promise<void> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.leadPartition(orgId, leadId), ['pk', 'sk'], { consistent: true });
    await batchWriteAll(this.client, this.tableName, items.map((item) => ({ DeleteRequest: { Key: { pk: item.pk, sk: item.sk } } })));
  }
}
