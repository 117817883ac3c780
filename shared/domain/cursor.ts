import { canonicalJson, sha256Hex } from './canonical.js';
import { ValidationError } from './errors.js';
import type { PagePosition } from './ports.js';

/**
 * Opaque page cursors. A cursor carries where the last page ended plus a digest of the org and the
 * query it belongs to; presented with another org or another query (or altered), it is refused with a
 * 400. Independently, the store only ever reads the caller's own partitions, so even a forged cursor
 * cannot reach another org's items.
 */
const TIME_KEY = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z#[0-9a-f-]{36}$/;

function bindingOf(orgId: string, query: Record<string, unknown>, position: PagePosition): string {
  return sha256Hex(`leadlog-cursor-v1\u0000${orgId}\u0000${canonicalJson(query)}\u0000${position.partition}\u0000${position.timeKey}`).slice(0, 32);
}

export function encodeCursor(position: PagePosition, orgId: string, query: Record<string, unknown>): string {
  const body = { v: 1, p: position.partition, t: position.timeKey, b: bindingOf(orgId, query, position) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodeCursor(cursor: string, orgId: string, query: Record<string, unknown>): PagePosition {
  const invalid = () =>
    new ValidationError([{ path: 'cursor', message: 'is not a cursor for this query; pass next_cursor from the previous page unchanged' }]);
  if (!/^[A-Za-z0-9_-]{1,600}$/.test(cursor)) throw invalid();
  let body: { v?: unknown; p?: unknown; t?: unknown; b?: unknown };
  try {
    body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (
    body === null || typeof body !== 'object' || body.v !== 1 || !Number.isInteger(body.p) || (body.p as number) < 0 ||
    (body.p as number) > 400 || typeof body.t !== 'string' || !TIME_KEY.test(body.t) ||
    body.b !== bindingOf(orgId, query, { partition: body.p as number, timeKey: body.t })
  ) {
    throw invalid();
  }
  return { partition: body.p as number, timeKey: body.t };
}
