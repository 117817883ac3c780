import { decodeCursor, encodeCursor, peekCursorDefaults } from './cursor.js';
import { ValidationError } from './errors.js';
import type { AuditEntry, AuditLog } from './ports.js';
import { DAY_MS, parseIsoWithOffset, utcDays } from './time.js';

/**
 * GET /v1/audit (scope admin, section 9): the org's audit records, newest first, in a range of at most 400 days
 * (the retention; default the last 30 days), with opaque cursors bound to the org and the range.
 */
export const AUDIT_MAX_RANGE_DAYS = 400;
const DEFAULT_RANGE_MS = 30 * DAY_MS;

export async function listAudit(
  log: AuditLog, orgId: string, params: Record<string, string | undefined>, nowMs: number,
): Promise<{ items: AuditEntry[]; next_cursor: string | null }> {
  const errors: { path: string; message: string }[] = [];
  const unknown = Object.keys(params).filter((name) => !['from', 'to', 'limit', 'cursor'].includes(name));
  errors.push(...unknown.map((path) => ({ path, message: 'is not a known parameter' })));
  const time = (name: 'from' | 'to') => {
    const value = params[name];
    if (value === undefined) return undefined;
    const ms = parseIsoWithOffset(value);
    if (ms === undefined) errors.push({ path: name, message: 'must be an ISO 8601 date-time with offset' });
    return ms;
  };
  const limit = params.limit === undefined ? 100 : Number(params.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) errors.push({ path: 'limit', message: 'must be a whole number from 1 to 1000' });
  const carried = params.cursor !== undefined ? peekCursorDefaults(params.cursor) : undefined;
  const toMs = time('to') ?? carried?.to ?? nowMs + 1;
  const fromMs = time('from') ?? carried?.from ?? toMs - DEFAULT_RANGE_MS;
  if (fromMs >= toMs) errors.push({ path: 'from', message: 'must be before to' });
  if (toMs - fromMs > AUDIT_MAX_RANGE_DAYS * DAY_MS) errors.push({ path: 'from', message: `the range from..to must be at most ${AUDIT_MAX_RANGE_DAYS} days` });
  if (errors.length > 0) throw new ValidationError(errors);

  const days = utcDays(fromMs, toMs).reverse(); // newest first
  const binding = { route: 'audit', from: params.from, to: params.to };
  const defaults = { from: fromMs, to: toMs };
  const after = params.cursor === undefined ? undefined : decodeCursor(params.cursor, orgId, binding);
  const page = await log.list(orgId, { days, fromMs, toMs, limit, ...(after ? { after } : {}) });
  return { items: page.items, next_cursor: page.next ? encodeCursor(page.next, orgId, binding, defaults) : null };
}
