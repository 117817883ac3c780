import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import * as z from 'zod/mini';
import { ValidationError } from './errors.js';
import { isoParam, limitParam, parseOrThrow } from './schema.js';
import type { PagePosition, SecretSource } from './ports.js';

/**
 * Opaque page cursors, signed (contract section 3). A cursor carries where the last page ended (and the range
 * the first page resolved for itself) plus an HMAC-SHA256, under the deployment's secret, over all of that and
 * the org and the query it belongs to. Invariants:
 * - nothing in a cursor is read before its signature is verified, so a crafted, tampered, truncated or
 *   foreign (other org, other query, other deployment) cursor is a 400 naming `cursor`, never a 5xx, and
 *   cannot be computed without the secret;
 * - every check is bounded: at most MAX_CURSOR_LENGTH characters are ever decoded;
 * - independently, the store only ever reads the caller's own partitions, so even a valid cursor cannot reach
 *   another org's items.
 * Rotating the secret only invalidates the cursors open at that moment (clients start again from page one).
 */
const TIME_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f-]{36}$/;
const MAX_CURSOR_LENGTH = 600;
const CURSOR_SHAPE = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_CURSOR_LENGTH}}$`);
/** The largest |epoch ms| a Date holds: a carried bound outside it could not be a range the first page resolved. */
const MAX_EPOCH_MS = 8.64e15;
/** Secrets shorter than this are refused: an HMAC key should be at least as long as its output (RFC 2104). */
export const MIN_CURSOR_SECRET_LENGTH = 32;

/** Values the first page resolved for itself (a default time range): later pages must reuse them, not "now". */
export type CursorDefaults = Record<string, number>;

/** A verified cursor: where to continue, and the defaults the first page resolved. */
export interface OpenedCursor {
  position: PagePosition;
  defaults?: CursorDefaults;
}

function invalidCursor(): ValidationError {
  return new ValidationError([{ path: 'cursor', message: 'is not a cursor for this query; pass next_cursor from the previous page unchanged' }]);
}

/** What a cursor's signature covers: its content, the org and the query (canonical, so key order does not matter). */
function signedText(orgId: string, query: Record<string, unknown>, position: PagePosition, defaults: CursorDefaults | undefined): string {
  return `leadlog-cursor-v2\u0000${orgId}\u0000${canonicalJson(query)}\u0000${position.partition}\u0000${position.timeKey}\u0000${canonicalJson(defaults ?? {})}`;
}

function validDefaults(d: unknown): d is CursorDefaults {
  return d !== null && typeof d === 'object' && !Array.isArray(d) &&
    Object.values(d).every((v) => typeof v === 'number' && Number.isSafeInteger(v) && Math.abs(v) <= MAX_EPOCH_MS);
}

/**
 * Makes and opens cursors with the deployment's secret, read once (at the first cursor a cold start makes or
 * opens); a failed read is not kept, so the next request tries again.
 */
export class Cursors {
  private key: Promise<Buffer> | undefined;

  constructor(private readonly secret: SecretSource) {}

  private hmacKey(): Promise<Buffer> {
    this.key ??= this.secret().then((secret) => {
      if (secret.length < MIN_CURSOR_SECRET_LENGTH) throw new Error(`the cursor secret must be at least ${MIN_CURSOR_SECRET_LENGTH} characters`);
      return Buffer.from(secret, 'utf8');
    });
    this.key.catch(() => { this.key = undefined; });
    return this.key;
  }

  private async signature(text: string): Promise<Buffer> {
    return createHmac('sha256', await this.hmacKey()).update(text, 'utf8').digest();
  }

  /**
   * An HMAC-SHA256 of `text` under the same secret, for the deployment's other signed tokens (report run ids):
   * `purpose` is signed first, so no token of one kind verifies as another.
   */
  async mac(purpose: string, text: string): Promise<Buffer> {
    return this.signature(`leadlog-${purpose}\u0000${text}`);
  }

  async encode(position: PagePosition, orgId: string, query: Record<string, unknown>, defaults?: CursorDefaults): Promise<string> {
    const s = (await this.signature(signedText(orgId, query, position, defaults))).toString('base64url');
    const body = { v: 2, p: position.partition, t: position.timeKey, ...(defaults ? { d: defaults } : {}), s };
    return Buffer.from(JSON.stringify(body)).toString('base64url');
  }

  /** Verifies a cursor for this org and query; anything else is a ValidationError naming `cursor`. */
  async open(cursor: string, orgId: string, query: Record<string, unknown>): Promise<OpenedCursor> {
    if (!CURSOR_SHAPE.test(cursor)) throw invalidCursor();
    let body: { v?: unknown; p?: unknown; t?: unknown; d?: unknown; s?: unknown };
    try {
      body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    } catch {
      throw invalidCursor();
    }
    if (body === null || typeof body !== 'object' || body.v !== 2 || typeof body.s !== 'string' || !Number.isSafeInteger(body.p) ||
      typeof body.t !== 'string' || (body.d !== undefined && !validDefaults(body.d))) {
      throw invalidCursor();
    }
    const position = { partition: body.p as number, timeKey: body.t };
    const defaults = body.d as CursorDefaults | undefined;
    const given = Buffer.from(body.s, 'base64url');
    const expected = await this.signature(signedText(orgId, query, position, defaults));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidCursor();
    // Signed by us, so these hold; checked anyway, as a store must never see a malformed position.
    if (position.partition < 0 || position.partition > 400 || !TIME_KEY.test(position.timeKey)) throw invalidCursor();
    return { position, ...(defaults ? { defaults } : {}) };
  }
}

/** The query parameters of a time-ranged, cursor-paged listing (the audit trail, the alert history). */
export const rangePageParams = z.strictObject({ from: z.optional(isoParam), to: z.optional(isoParam), limit: z.optional(limitParam), cursor: z.optional(z.string()) });

/** A parsed range page: the window, the page size, where to continue, and what its next cursor binds. */
export interface RangePage {
  fromMs: number;
  toMs: number;
  limit?: number;
  after?: PagePosition;
  /** The query the cursors of this listing are bound to, and the window they carry. */
  binding: Record<string, unknown>;
  defaults: CursorDefaults;
}

/**
 * Parses them: the window is from/to as given, else the one the (verified) cursor carries, else the
 * `defaultRangeMs` up to now; from must be before to. Every bad parameter is named at once.
 */
export async function parseRangePage(
  params: Record<string, string | undefined>, nowMs: number, defaultRangeMs: number, cursors: Cursors, orgId: string, route: string,
): Promise<RangePage> {
  const clean = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
  const p = parseOrThrow(rangePageParams, clean, { unknownKeyMessage: 'is not a known query parameter' });
  const binding = { route, from: params.from, to: params.to };
  const opened = p.cursor !== undefined ? await cursors.open(p.cursor, orgId, binding) : undefined;
  const toMs = p.to ?? opened?.defaults?.to ?? nowMs + 1;
  const fromMs = p.from ?? opened?.defaults?.from ?? toMs - defaultRangeMs;
  if (fromMs >= toMs) throw new ValidationError([{ path: 'from', message: 'must be before to' }]);
  return {
    fromMs, toMs, binding, defaults: { from: fromMs, to: toMs },
    ...(p.limit !== undefined ? { limit: p.limit } : {}), ...(opened ? { after: opened.position } : {}),
  };
}
