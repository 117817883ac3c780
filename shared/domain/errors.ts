/**
 * The one error hierarchy. Every failure a client can cause is a LeadlogError with an HTTP status;
 * `shared/http/problem.ts` maps it (and anything else) to RFC 9457 problem+json exactly once.
 */
export interface FieldError {
  path: string;
  message: string;
}

export abstract class LeadlogError extends Error {
  abstract readonly status: number;
  abstract readonly title: string;
  /** Stable problem type slug: https://leadlog.dev/problems/<slug> */
  abstract readonly slug: string;
  readonly errors?: FieldError[];
  readonly headers: Record<string, string> = {};

  constructor(message: string, options?: { cause?: unknown; errors?: FieldError[] }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.errors) this.errors = options.errors;
  }
}

export class ValidationError extends LeadlogError {
  readonly status = 400;
  readonly title = 'Invalid request';
  readonly slug = 'invalid-request';
  constructor(errors: FieldError[], message = describeFieldErrors(errors)) {
    super(message, { errors });
  }
}

export class MalformedJsonError extends LeadlogError {
  readonly status = 400;
  readonly title = 'Malformed JSON';
  readonly slug = 'malformed-json';
}

export class UnauthenticatedError extends LeadlogError {
  readonly status = 401;
  readonly title = 'Unauthorized';
  readonly slug = 'unauthorized';
  constructor(message = 'A valid API key is required: send Authorization: Bearer <api key>.') {
    super(message);
    this.headers['www-authenticate'] = 'Bearer realm="leadlog"';
  }
}

/** A webhook whose provider signature (or token) does not verify; also an unknown org, so URLs leak nothing. */
export class WebhookSignatureError extends LeadlogError {
  readonly status = 401;
  readonly title = 'Invalid webhook signature';
  readonly slug = 'invalid-webhook-signature';
}

export class ForbiddenError extends LeadlogError {
  readonly status = 403;
  readonly title = 'Forbidden';
  readonly slug = 'missing-scope';
}

export class NotFoundError extends LeadlogError {
  readonly status = 404;
  readonly title = 'Not Found';
  readonly slug = 'not-found';
}

/**
 * Proof of record (section 14): the event is stored but not yet in a signed checkpoint of its org's log. 404 (there is
 * no proof yet) with Retry-After: the seconds until the next checkpoint is due.
 */
export class ProofPendingError extends LeadlogError {
  readonly status = 404;
  readonly title = 'Proof pending';
  readonly slug = 'proof-pending';
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterSeconds)));
  }
}

/** A known path asked with a method it does not serve; `Allow` lists the ones it does. */
export class MethodNotAllowedError extends LeadlogError {
  readonly status = 405;
  readonly title = 'Method Not Allowed';
  readonly slug = 'method-not-allowed';
  constructor(message: string, allow: readonly string[]) {
    super(message);
    this.headers.allow = allow.join(', ');
  }
}

export class ConflictError extends LeadlogError {
  readonly status = 409;
  readonly title = 'Idempotency conflict';
  readonly slug = 'idempotency-conflict';
}

/** An unmerge of a lead that is not merged into the lead named (section 8, v1.2). */
export class NotMergedError extends LeadlogError {
  readonly status = 409;
  readonly title = 'Not merged';
  readonly slug = 'not-merged';
}

/** A change to a family that an erasure is removing (section 9): it would be undone by the erasure, so it is refused. */
export class ErasureRunningError extends LeadlogError {
  readonly status = 409;
  readonly title = 'Erasure running';
  readonly slug = 'erasure-running';
}

export class PayloadTooLargeError extends LeadlogError {
  readonly status = 413;
  readonly title = 'Payload too large';
  readonly slug = 'payload-too-large';
}

export class UnsupportedMediaTypeError extends LeadlogError {
  readonly status = 415;
  readonly title = 'Unsupported media type';
  readonly slug = 'unsupported-media-type';
}

/** The request line or headers are larger than the API takes (API Gateway: 10 KB); the transport refuses it. */
export class RequestHeadersTooLargeError extends LeadlogError {
  readonly status = 431;
  readonly title = 'Request headers too large';
  readonly slug = 'request-headers-too-large';
}

/** A request HTTP itself cannot read (a lying Content-Length, a broken request line): refused by the transport. */
export class MalformedRequestError extends LeadlogError {
  readonly status = 400;
  readonly title = 'Malformed request';
  readonly slug = 'malformed-request';
}

/**
 * The org sent more requests than its limit (per-org token bucket, shared/domain/rate-limit.ts): 429 with
 * `Retry-After` in whole seconds (at least 1), as Stripe's, Segment's and Hookdeck's clients expect, and the
 * `RateLimit-*` headers. Nothing of the request was done.
 */
export class RateLimitedError extends LeadlogError {
  readonly status = 429;
  readonly title = 'Too many requests';
  readonly slug = 'rate-limited';
  /** Whole seconds until the bucket holds what was asked (the Retry-After header). */
  readonly retryAfterSeconds: number;
  /** `detail`: what the limit is, for a bucket other than the org's requests (its events: the shard plan's rate). */
  constructor(retryAfterSeconds: number, limits: { requestsPerSecond: number; burst: number }, detail?: (seconds: number) => string) {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    super(detail?.(seconds) ?? `This org may send ${limits.requestsPerSecond} requests a second (bursts of ${limits.burst}); retry after ${seconds} s. `
      + 'To go faster, post events in batches: POST /v1/events/batch takes up to 100 events as one request.');
    this.retryAfterSeconds = seconds;
    this.headers['retry-after'] = String(seconds);
    this.headers['ratelimit-limit'] = String(limits.requestsPerSecond);
    this.headers['ratelimit-remaining'] = '0';
    this.headers['ratelimit-reset'] = String(seconds);
  }
}

/**
 * LeadConduit refused the org's API key (401 or 403 from its API): retrying cannot help, someone must store a valid key.
 * Raised by the pull (contract section 12), never answered to a leadlog client: its status says what it is, a gateway's refusal.
 */
export class LeadConduitRefusedError extends LeadlogError {
  readonly status = 502;
  readonly title = 'LeadConduit refused the API key';
  readonly slug = 'leadconduit-refused';
}

/** Our own dependency failed (throttling, timeout): the client may retry with the same idempotency key. */
export class ServiceUnavailableError extends LeadlogError {
  readonly status = 503;
  readonly title = 'Service unavailable';
  readonly slug = 'service-unavailable';
  constructor(message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.headers['retry-after'] = String(options?.retryAfterSeconds ?? 1);
  }
}

/**
 * The request ran out of its time (the Lambda's remaining time less a margin; locally the server's request timeout):
 * its work was stopped (the AbortSignal it was given fired) and nothing it would have answered is known. 503, not 504:
 * leadlog is the origin, not a gateway, and a retry later (or with a narrower range) may succeed.
 */
export class RequestTimeoutError extends LeadlogError {
  readonly status = 503;
  readonly title = 'Request took too long';
  readonly slug = 'request-timeout';
  constructor(budgetMs: number) {
    super(`The request was stopped after ${budgetMs} ms, its time limit. Retry later, or ask for less (a narrower range, a smaller page).`);
    this.headers['retry-after'] = '5';
  }
}

export function describeFieldErrors(errors: FieldError[]): string {
  const shown = errors.slice(0, 5).map((e) => `${e.path || '(body)'}: ${e.message}`);
  const more = errors.length > 5 ? ` (and ${errors.length - 5} more)` : '';
  return `${errors.length} invalid field${errors.length === 1 ? '' : 's'}: ${shown.join('; ')}${more}`;
}
