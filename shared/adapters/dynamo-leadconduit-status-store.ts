import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../domain/keys.js';
import type { LeadConduitChannel, LeadConduitChannelStatus, LeadConduitCounts, LeadConduitMarks, LeadConduitStatusStore } from '../domain/ports.js';
import { queryPartition } from './control-table.js';

const CHANNELS: readonly LeadConduitChannel[] = ['api', 'inbox', 'pull'];
const COUNTERS = ['created', 'duplicate', 'invalid'] as const;
const MARKS = ['last_key', 'after_id', 'last_run_at', 'last_error'] as const;
/** A mark is a position or one line of error, never a document: longer values are cut (an item stays small). */
const MAX_MARK_LENGTH = 2_000;

/**
 * LeadConduit's per-org status (contract section 12) in the control table: one item per channel under
 * controlKeys.leadconduitStatus. Counters grow by ADD, so every writer (API requests, inbox objects, pull pages, in
 * any number of instances) adds its own counts without reading first and none is lost; marks are plain SETs.
 */
export class DynamoLeadConduitStatusStore implements LeadConduitStatusStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async count(orgId: string, channel: LeadConduitChannel, delta: Partial<LeadConduitCounts>): Promise<void> {
    const added = COUNTERS.filter((name) => (delta[name] ?? 0) > 0);
    if (added.length === 0) return;
    await this.client.send(new UpdateCommand({
      TableName: this.tableName, Key: controlKeys.leadconduitStatus(orgId, channel),
      UpdateExpression: `ADD ${added.map((name) => `#${name} :${name}`).join(', ')} SET org_id = :org`,
      ExpressionAttributeNames: Object.fromEntries(added.map((name) => [`#${name}`, name])),
      ExpressionAttributeValues: { ':org': orgId, ...Object.fromEntries(added.map((name) => [`:${name}`, delta[name]])) },
    }));
  }

  async mark(orgId: string, channel: LeadConduitChannel, marks: LeadConduitMarks): Promise<void> {
    const given = MARKS.filter((name) => marks[name] !== undefined);
    if (given.length === 0) return;
    const set = given.filter((name) => marks[name] !== null);
    const removed = given.filter((name) => marks[name] === null);
    await this.client.send(new UpdateCommand({
      TableName: this.tableName, Key: controlKeys.leadconduitStatus(orgId, channel),
      UpdateExpression: `SET org_id = :org${set.map((name) => `, #${name} = :${name}`).join('')}${removed.length ? ` REMOVE ${removed.map((name) => `#${name}`).join(', ')}` : ''}`,
      ExpressionAttributeNames: Object.fromEntries(given.map((name) => [`#${name}`, name])),
      ExpressionAttributeValues: { ':org': orgId, ...Object.fromEntries(set.map((name) => [`:${name}`, String(marks[name]).slice(0, MAX_MARK_LENGTH)])) },
    }));
  }

  async status(orgId: string): Promise<Record<LeadConduitChannel, LeadConduitChannelStatus>> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.leadconduitStatusOfOrg(orgId), undefined, { consistent: true });
    const bySk = new Map(items.map((item) => [item.sk as string, item]));
    const of = (channel: LeadConduitChannel): LeadConduitChannelStatus => {
      const item = bySk.get(controlKeys.leadconduitStatus(orgId, channel).sk) ?? {};
      const status: LeadConduitChannelStatus = { created: Number(item.created ?? 0), duplicate: Number(item.duplicate ?? 0), invalid: Number(item.invalid ?? 0) };
      for (const name of MARKS) if (typeof item[name] === 'string') status[name] = item[name] as string;
      return status;
    };
    return Object.fromEntries(CHANNELS.map((channel) => [channel, of(channel)])) as Record<LeadConduitChannel, LeadConduitChannelStatus>;
  }
}
