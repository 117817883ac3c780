import { parseRangePage, rangePageParams, type Cursors } from './cursor.js';
import { ValidationError } from './errors.js';
import type { AuditEntry, AuditLog } from './ports.js';
import { DAY_MS, utcDays } from './time.js';

/**
 * GET /v1/audit (scope admin, section 9): the org's audit records, newest first, in a range of at most 400 days
 * (the retention; default the last 30 days), with opaque cursors bound to the org and the range.
 */
export const AUDIT_MAX_RANGE_DAYS = 400;
const DEFAULT_RANGE_MS = 30 * DAY_MS;

/** GET /v1/audit's query parameters. */
export const auditParams = rangePageParams;

export async function listAudit(
  log: AuditLog, cursors: Cursors, orgId: string, params: Record<string, string | undefined>, nowMs: number,
): Promise<{ items: AuditEntry[]; next_cursor: string | null }> {
  const { fromMs, toMs, limit = 100, after, binding, defaults } = await parseRangePage(params, nowMs, DEFAULT_RANGE_MS, cursors, orgId, 'audit');
  if (toMs - fromMs > AUDIT_MAX_RANGE_DAYS * DAY_MS) throw new ValidationError([{ path: 'from', message: `the range from..to must be at most ${AUDIT_MAX_RANGE_DAYS} days` }]);

  const days = utcDays(fromMs, toMs).reverse(); // newest first
  const page = await log.list(orgId, { days, fromMs, toMs, limit, ...(after ? { after } : {}) });
  return { items: page.items, next_cursor: page.next ? await cursors.encode(page.next, orgId, binding, defaults) : null };
}

/**
 * An audit resource with every part that names one of `names` replaced by `replacement` (erasure, section 9), or
 * undefined when no part does. The resource is the request's raw path and query. A part is a whole path segment
 * (split on `/` only: a lead id may hold a literal `=` or `&`, `/v1/leads/name=ana@example.com/events`) or a
 * whole query value (the query split on `&`, then each pair at its first `=`); each is compared as given and
 * percent-decoded (`ana%40example.com` names `ana@example.com`; in the query `+` is a space as well). A name
 * inside a longer part (`lead_1` in `lead_10`) is not that name. Linear in the resource's length.
 */
export function renameInResource(resource: string, names: ReadonlySet<string>, replacement: string): string | undefined {
  let changed = false;
  const rename = (part: string, decoded: string): string => {
    if (part.length === 0 || (!names.has(part) && !names.has(decoded))) return part;
    changed = true;
    return encodeURIComponent(replacement);
  };
  const queryAt = resource.indexOf('?');
  const path = queryAt === -1 ? resource : resource.slice(0, queryAt);
  const renamedPath = path.split('/').map((segment) => rename(segment, decodedOrSelf(segment))).join('/');
  let renamedQuery = '';
  if (queryAt !== -1) {
    renamedQuery = '?' + resource.slice(queryAt + 1).split('&').map((pair) => {
      const eq = pair.indexOf('=');
      if (eq === -1) return pair;
      const value = pair.slice(eq + 1);
      return `${pair.slice(0, eq + 1)}${rename(value, decodedOrSelf(value.replace(/\+/g, ' ')))}`;
    }).join('&');
  }
  return changed ? renamedPath + renamedQuery : undefined;
}

function decodedOrSelf(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
