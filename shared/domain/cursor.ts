import { canonicalJson, sha256Hex } from './canonical.js';
import * as z from 'zod/mini';
import { ValidationError } from './errors.js';
import { isoParam, limitParam, parseOrThrow } from './schema.js';
import type { PagePosition } from './ports.js';

/**
 * Opaque page cursors. A cursor carries where the last page ended plus a digest of the org and the
 * query it belongs to; presented with another org or another query (or altered), it is refused with a
 * 400. Independently, the store only ever reads the caller's own partitions, so even a forged cursor
 * cannot reach another org's items.
 */
const TIME_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f-]{36}$/;

/** Values the first page resolved for itself (a default time range): later pages must reuse them, not "now". */
export type CursorDefaults = Record<string, number>;

function bindingOf(orgId: string, query: Record<string, unknown>, position: PagePosition, defaults: CursorDefaults | undefined): string {
  const text = `leadlog-cursor-v1\u0000${orgId}\u0000${canonicalJson(query)}\u0000${position.partition}\u0000${position.timeKey}\u0000${canonicalJson(defaults ?? {})}`;
  return sha256Hex(text).slice(0, 32);
}

export function encodeCursor(position: PagePosition, orgId: string, query: Record<string, unknown>, defaults?: CursorDefaults): string {
  const body = { v: 1, p: position.partition, t: position.timeKey, ...(defaults ? { d: defaults } : {}), b: bindingOf(orgId, query, position, defaults) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

/** The defaults a cursor carries, unverified: decodeCursor checks them (they are inside its digest). */
export function peekCursorDefaults(cursor: string): CursorDefaults | undefined {
  try {
    const d = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))?.d;
    if (d === null || typeof d !== 'object' || Array.isArray(d)) return undefined;
    return Object.values(d).every((v) => typeof v === 'number' && Number.isFinite(v)) ? (d as CursorDefaults) : undefined;
  } catch {
    return undefined;
  }
}

export function decodeCursor(cursor: string, orgId: string, query: Record<string, unknown>): PagePosition {
  const invalid = () =>
    new ValidationError([{ path: 'cursor', message: 'is not a cursor for this query; pass next_cursor from the previous page unchanged' }]);
  if (!/^[A-Za-z0-9_-]{1,600}$/.test(cursor)) throw invalid();
  let body: { v?: unknown; p?: unknown; t?: unknown; b?: unknown; d?: CursorDefaults };
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    body === null || typeof body !== 'object' || body.v !== 1 || !Number.isInteger(body.p) || (body.p as number) < 0 ||
    (body.p as number) > 400 || typeof body.t !== 'string' || !TIME_KEY.test(body.t) ||
    body.b !== bindingOf(orgId, query, { partition: body.p as number, timeKey: body.t }, body.d)
  ) {
    throw invalid();
  }
  return { partition: body.p as number, timeKey: body.t };
}

/** The query parameters of a time-ranged, cursor-paged listing (the audit trail, the alert history). */
export const rangePageParams = z.strictObject({ from: z.optional(isoParam), to: z.optional(isoParam), limit: z.optional(limitParam), cursor: z.optional(z.string()) });

/**
 * Parses them: the window is from/to as given, else the one the cursor carries, else the `defaultRangeMs` up to now;
 * from must be before to. Every bad parameter is named at once.
 */
export function parseRangePage(params: Record<string, string | undefined>, nowMs: number, defaultRangeMs: number): { fromMs: number; toMs: number; limit?: number; cursor?: string } {
  const clean = Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined));
  const p = parseOrThrow(rangePageParams, clean, { unknownKeyMessage: 'is not a known query parameter' });
  const carried = p.cursor !== undefined ? peekCursorDefaults(p.cursor) : undefined;
  const toMs = p.to ?? carried?.to ?? nowMs + 1;
  const fromMs = p.from ?? carried?.from ?? toMs - defaultRangeMs;
  if (fromMs >= toMs) throw new ValidationError([{ path: 'from', message: 'must be before to' }]);
  return { fromMs, toMs, ...(p.limit !== undefined ? { limit: p.limit } : {}), ...(p.cursor !== undefined ? { cursor: p.cursor } : {}) };
}
