import { LeadConduitRefusedError, ServiceUnavailableError } from '../domain/errors.js';
import type { LeadConduitApi, LeadConduitPageQuery } from '../domain/ports.js';

/** LeadConduit's API, unless LEADCONDUIT_URL names another (a test's stand-in). */
export const LEADCONDUIT_DEFAULT_URL = 'https://app.leadconduit.com';

export interface LeadConduitClientOptions {
  baseUrl: string;
  apiKey: string;
  /** Each attempt's time limit (default 30 s). */
  timeoutMs?: number;
  /** Attempts after the first for a 429, a 5xx, a timeout or a dropped connection (default 4). */
  retries?: number;
  /** The first backoff; doubled each attempt, with jitter (default 500 ms). */
  backoffMs?: number;
  /** The longest Retry-After honoured as given (default 60 s); longer ones wait this long. */
  maxWaitMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const sleepFor = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve, reject) => {
  if (signal?.aborted) return reject(signal.reason);
  const timer = setTimeout(() => {
    signal?.removeEventListener('abort', onAbort);
    resolve();
  }, ms);
  const onAbort = () => {
    clearTimeout(timer);
    reject(signal!.reason);
  };
  signal?.addEventListener('abort', onAbort, { once: true });
});

/** Retry-After as seconds or an HTTP date (RFC 9110 10.2.3), in ms from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** A short, printable excerpt of an answer's body for an error message (no control characters, at most 200 characters). */
const excerpt = (text: string) => text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim().slice(0, 200);

/**
 * `GET /events` over fetch, as LeadConduit's OpenAPI document and the live API want it: HTTP Basic with user `API` and
 * the key as password, and `Accept: application/json` always (without it the live API answers 403 "misconfigured
 * csrf"). 401/403 → LeadConduitRefusedError at once (no retry can help); 429, 5xx, timeouts and dropped connections
 * are retried with exponential backoff and jitter, honouring Retry-After; after the last attempt,
 * ServiceUnavailableError. The caller's signal aborts at once, waits included.
 */
export class LeadConduitApiClient implements LeadConduitApi {
  private readonly authorization: string;
  private readonly eventsUrl: string;

  constructor(private readonly options: LeadConduitClientOptions) {
    this.authorization = `Basic ${Buffer.from(`API:${options.apiKey}`, 'utf8').toString('base64')}`;
    this.eventsUrl = `${options.baseUrl.replace(/\/+$/, '')}/events`;
  }

  async page(query: LeadConduitPageQuery, signal?: AbortSignal): Promise<unknown[]> {
    const url = new URL(this.eventsUrl);
    url.searchParams.set('limit', String(query.limit));
    url.searchParams.set('sort', query.sort);
    if (query.after_id !== undefined) url.searchParams.set('after_id', query.after_id);
    if (query.start !== undefined) url.searchParams.set('start', query.start);
    const retries = this.options.retries ?? 4;
    const sleep = this.options.sleep ?? sleepFor;
    let last = '';
    for (let attempt = 0; ; attempt++) {
      let waitMs: number | undefined;
      const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
      try {
        const response = await fetch(url, {
          headers: { accept: 'application/json', authorization: this.authorization },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await response.text();
        if (response.status === 401 || response.status === 403) {
          throw new LeadConduitRefusedError(`LeadConduit refused the API key (HTTP ${response.status}${text ? `: ${excerpt(text)}` : ''}); check LEADCONDUIT_API_KEY or the stored key`);
        }
        if (response.ok) {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            throw new Error(`LeadConduit answered ${response.status} with a body that is not JSON: ${excerpt(text)}`);
          }
          if (!Array.isArray(body)) throw new Error(`LeadConduit answered ${response.status} without a JSON array of events: ${excerpt(text)}`);
          return body;
        }
        if (response.status !== 429 && response.status < 500) throw new Error(`LeadConduit answered ${response.status} to GET /events: ${excerpt(text)}`);
        last = `HTTP ${response.status}`;
        waitMs = retryAfterMs(response.headers.get('retry-after'));
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (error instanceof LeadConduitRefusedError || (error instanceof Error && error.message.startsWith('LeadConduit answered'))) throw error;
        // A timeout or a dropped connection: fetch's TypeError, or the timeout's abort.
        last = timeout.aborted ? `no answer within ${this.options.timeoutMs ?? 30_000} ms` : `the connection failed (${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message})`;
      }
      if (attempt >= retries) throw new ServiceUnavailableError(`LeadConduit stayed unavailable after ${attempt + 1} attempts (last: ${last})`);
      const backoff = (this.options.backoffMs ?? 500) * 2 ** attempt;
      await sleep(Math.min(waitMs ?? backoff * (0.5 + Math.random() / 2), this.options.maxWaitMs ?? 60_000), signal);
    }
  }
}
