import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../domain/keys.js';
import type { IdentitySettings, PrivacySettings, SettingsStore } from '../domain/ports.js';

/** Per-org settings in the control table (controlKeys.privacySettings, controlKeys.identitySettings). */
export class DynamoSettingsStore implements SettingsStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async privacy(orgId: string): Promise<PrivacySettings> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.privacySettings(orgId), ConsistentRead: true }));
    return { pii_keys: (result.Item?.pii_keys as string[] | undefined) ?? [], ...(result.Item?.updated_at ? { updated_at: result.Item.updated_at as string } : {}) };
  }

  async setPrivacy(orgId: string, settings: PrivacySettings): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...controlKeys.privacySettings(orgId), org_id: orgId, ...settings } }));
  }

  async identity(orgId: string): Promise<IdentitySettings> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: controlKeys.identitySettings(orgId), ConsistentRead: true }));
    return {
      ignore: (result.Item?.ignore as string[] | undefined) ?? [],
      ...(result.Item?.limits ? { limits: result.Item.limits as IdentitySettings['limits'] } : {}),
      ...(result.Item?.updated_at ? { updated_at: result.Item.updated_at as string } : {}),
      ...(result.Item?.identity_epoch ? { epoch: result.Item.identity_epoch as string } : {}),
    };
  }

  async newIdentityEpoch(orgId: string, epoch: string): Promise<void> {
    await this.client.send(new UpdateCommand({
      TableName: this.tableName, Key: controlKeys.identitySettings(orgId),
      UpdateExpression: 'SET identity_epoch = :epoch, org_id = :org', ExpressionAttributeValues: { ':epoch': epoch, ':org': orgId },
    }));
  }

  async setIdentity(orgId: string, settings: IdentitySettings): Promise<void> {
    // A replaced list may unlink what caches hold: the epoch moves on with it.
    const { epoch: _shown, ...stored } = settings;
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...controlKeys.identitySettings(orgId), org_id: orgId, ...stored, identity_epoch: stored.updated_at ?? new Date().toISOString() } }));
  }
}
