import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SecretSource } from '../domain/ports.js';

/**
 * A secret of the deployment kept in Secrets Manager (the stack generates it, encrypted with its data key),
 * read with GetSecretValue. Callers keep what it answers for the life of the container (one read per cold
 * start): the cursor signer does. A throttled or failed read is the client's translated 503, never a 500.
 */
export function secretsManagerSecret(client: SecretsManagerClient, secretId: string): SecretSource {
  return async () => {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!SecretString) throw new Error(`The secret ${secretId} has no SecretString`);
    return SecretString;
  };
}
