import { ServiceUnavailableError } from '../domain/errors.js';

const RETRYABLE = new Set([
  'ProvisionedThroughputExceededException', 'ThrottlingException', 'RequestLimitExceeded',
  'InternalServerError', 'ServiceUnavailable', 'TransactionConflictException', 'LimitExceededException',
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE',
]);

/**
 * A dependency's transient failure (throttling, timeout, internal error, connection loss) becomes a
 * 503 with Retry-After: the one 5xx we give, and only for our own faults. The write either happened
 * or not, and the client's retry with the same idempotency key resolves which. Anything else rethrows.
 */
export function translateAwsError(error: unknown, action: string): never {
  const e = error as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const name = e?.name ?? '';
  const status = e?.$metadata?.httpStatusCode;
  if (RETRYABLE.has(name) || RETRYABLE.has(e?.code ?? '') || e?.$retryable || (status !== undefined && status >= 500)) {
    throw new ServiceUnavailableError(`Temporarily unable to ${action}; retry with the same idempotency key.`, {
      cause: error,
      retryAfterSeconds: 1,
    });
  }
  throw error;
}
