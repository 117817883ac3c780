import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { controlKeys } from '../domain/keys.js';
import type { WebhookSecretStore } from '../domain/ports.js';
import type { Provider } from '../domain/webhooks/signatures.js';
import { queryPartition } from './control-table.js';

/**
 * controlKeys.webhookSecrets → {secrets: [current, previous?]} in the control table, which in AWS is
 * encrypted with the stack's customer-managed KMS key and readable only by the webhook function and the CLI.
 */
const secretKey = controlKeys.webhookSecrets;

export class DynamoWebhookSecretStore implements WebhookSecretStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async get(orgId: string, provider: Provider): Promise<string[]> {
    const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: secretKey(orgId, provider), ConsistentRead: true }));
    return (result.Item?.secrets as string[] | undefined) ?? [];
  }

  async put(orgId: string, provider: Provider, secrets: string[], nowIso: string): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...secretKey(orgId, provider), org_id: orgId, provider, secrets, updated_at: nowIso } }),
    );
  }

  async providers(orgId: string): Promise<{ provider: Provider; count: number; updatedAt: string }[]> {
    const items = await queryPartition(this.client, this.tableName, controlKeys.webhookSecretsOfOrg(orgId));
    return items.map((item) => ({ provider: item.provider as Provider, count: (item.secrets as string[]).length, updatedAt: item.updated_at as string }));
  }
}
