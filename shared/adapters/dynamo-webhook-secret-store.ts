import { GetCommand, PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { WebhookSecretStore } from '../domain/webhooks/secrets.js';
import type { Provider } from '../domain/webhooks/signatures.js';
import { translateAwsError } from './aws-errors.js';

/**
 * ORG#<org> / WEBHOOK#<provider> → {secrets: [current, previous?]} in the control table, which in AWS is
 * encrypted with the stack's customer-managed KMS key and readable only by the webhook function and the CLI.
 */
const secretKey = (orgId: string, provider: Provider) => ({ pk: `ORG#${orgId}`, sk: `WEBHOOK#${provider}` });

export class DynamoWebhookSecretStore implements WebhookSecretStore {
  constructor(private readonly client: DynamoDBDocumentClient, private readonly tableName: string) {}

  async get(orgId: string, provider: Provider): Promise<string[]> {
    try {
      const result = await this.client.send(new GetCommand({ TableName: this.tableName, Key: secretKey(orgId, provider), ConsistentRead: true }));
      return (result.Item?.secrets as string[] | undefined) ?? [];
    } catch (error) {
      return translateAwsError(error, 'check the webhook signature');
    }
  }

  async put(orgId: string, provider: Provider, secrets: string[], nowIso: string): Promise<void> {
    await this.client.send(
      new PutCommand({ TableName: this.tableName, Item: { ...secretKey(orgId, provider), org_id: orgId, provider, secrets, updated_at: nowIso } }),
    );
  }

  async providers(orgId: string): Promise<{ provider: Provider; count: number; updatedAt: string }[]> {
    const result = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :sk)',
        ExpressionAttributeValues: { ':pk': `ORG#${orgId}`, ':sk': 'WEBHOOK#' },
      }),
    );
    return (result.Items ?? []).map((item) => ({ provider: item.provider as Provider, count: (item.secrets as string[]).length, updatedAt: item.updated_at as string }));
  }
}
