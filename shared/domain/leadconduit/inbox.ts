import { ORG_ID_PATTERN } from '../keys.js';
import { JsonDepthError, parseJsonLossless } from '../json.js';
import type { InboxObjects } from '../ports.js';
import { reasonOf, type LeadConduitItemResult } from './ingest.js';
import { INBOX_MAX_OBJECT_BYTES, INBOX_PREFIX, INBOX_REJECTED_PREFIX, LOCAL_INGESTED_DIR, LOCAL_REJECTED_DIR } from '../../definitions/leadconduit-inbox.js';

/**
 * LeadConduit's Event Streaming inbox (contract section 12): what to do with one object LeadConduit wrote, the same
 * in AWS (S3 → SQS → functions/leadconduitInbox.ts) and locally (infra/local/leadconduit-inbox-watcher.ts).
 *
 * Invariants:
 * - Never a lost object: an object leaves the inbox only once it was ingested (created or duplicate: it is then only
 *   marked, and expires later) or after its copy and its reason were written aside (`moveAside`). A failure of any
 *   port (DynamoDB, S3, the disk) propagates: the caller retries the object, and every step is safe to repeat (the
 *   ingest is idempotent on LeadConduit's id; a copy aside is overwritten with the same bytes).
 * - The org comes from the key alone (`leadconduit/<org_id>/<anything>/<event id>.json`): each org's writer may put
 *   objects under its own prefix only, so the key is the proof of which org wrote it, never the object's content.
 * - `.txt` objects are LeadConduit's credential checks (`leadconduit_verification_*.txt`): skipped, never read.
 * - An object is read only up to INBOX_MAX_OBJECT_BYTES: a larger one is set aside unread.
 */

export type InboxKey =
  | { kind: 'event'; orgId: string }
  | { kind: 'skip'; orgId?: string; reason: string }
  | { kind: 'reject'; orgId?: string; reason: string };

const LAYOUT = `expected ${INBOX_PREFIX}<org_id>/<anything>/<event id>.json`;

/** What a (decoded) key is: an event object of an org, a file to skip, or something to set aside with the reason. */
export function parseInboxKey(key: string): InboxKey {
  if (!key.startsWith(INBOX_PREFIX)) return { kind: 'reject', reason: `not under ${INBOX_PREFIX}: ${LAYOUT}` };
  const segments = key.slice(INBOX_PREFIX.length).split('/');
  const org = segments[0]!;
  if (!ORG_ID_PATTERN.test(org)) return { kind: 'reject', reason: `no org id after ${INBOX_PREFIX} (an org id matches ${ORG_ID_PATTERN}): ${LAYOUT}` };
  const name = segments[segments.length - 1]!;
  if (segments.length >= 2 && /\.txt$/i.test(name)) return { kind: 'skip', orgId: org, reason: "a .txt file (LeadConduit's credential check)" };
  if (segments.length < 3 || name === '') return { kind: 'reject', orgId: org, reason: LAYOUT };
  if (!/\.json$/i.test(name)) return { kind: 'reject', orgId: org, reason: `not a .json object: ${LAYOUT}` };
  return { kind: 'event', orgId: org };
}

/**
 * The LeadConduit lead id an inbox key names: LeadConduit writes `<prefix>/<lead id>/<event id>.json` (the prefix is
 * `leadconduit/<org_id>` or anything under it), so it is the second-to-last segment, as stored (no percent-decoding:
 * LeadConduit writes its own 24-hex lead id, the `vars.lead.id` the mapping makes leadlog's lead_id). The same for a
 * set-aside copy (`rejected/<key>`) and its reason (`<key>.error.json`, beside it), and locally for the org's
 * `_ingested/` and `_rejected/` folders. Undefined when the key has no segment between the org and the file name.
 */
export function leadIdOfInboxKey(key: string): string | undefined {
  const inner = key.startsWith(`${INBOX_REJECTED_PREFIX}${INBOX_PREFIX}`) ? key.slice(INBOX_REJECTED_PREFIX.length) : key;
  if (!inner.startsWith(INBOX_PREFIX)) return undefined;
  let rest = inner.slice(INBOX_PREFIX.length).split('/').slice(1); // after the org
  if (rest[0] === LOCAL_INGESTED_DIR || rest[0] === LOCAL_REJECTED_DIR) rest = rest.slice(1);
  return rest.length >= 2 ? rest[rest.length - 2] : undefined;
}

/** The order S3 lists keys in (their UTF-8 bytes), which the local inbox lists in too: erasure pages by it. */
export const inboxKeyOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** What the status route shows of the inbox (GET /v1/integrations/leadconduit/status, `inbox`). */
export interface InboxMark {
  last_key: string;
  /** null: this object went in (clears an earlier failure). */
  last_error: string | null;
}

export interface InboxPorts {
  objects: InboxObjects;
  /** The org's LeadConduit ingest with `via: 'inbox'` (ingestLeadConduitEvents: it counts created/duplicate/invalid itself). */
  ingest(orgId: string, objects: unknown[], nowMs: number): Promise<LeadConduitItemResult[]>;
  /**
   * Records the inbox's last key and error for the org (the status route); `uncountedInvalid`: the object never reached
   * the ingest (not JSON, too large, a bad key), so it is counted as invalid here.
   */
  recordInbox(orgId: string, mark: InboxMark, uncountedInvalid?: boolean): Promise<void>;
}

export type InboxOutcome =
  | { outcome: 'created' | 'duplicate'; orgId: string; id?: string }
  | { outcome: 'rejected'; orgId?: string; reason: string }
  | { outcome: 'skipped'; reason: string }
  /** Already handled by an earlier delivery of the same notification (S3 delivers at least once). */
  | { outcome: 'gone' }
  /** A local file that does not parse yet and was modified moments ago: still being written, looked at again later. */
  | { outcome: 'pending' };

/** A local file that does not parse is given this long since its last change before it is judged (a writer may pause). */
export const INCOMPLETE_GRACE_MS = 10_000;

/** One object of the inbox, from its key to its place: ingested and marked, skipped, or set aside with the reason. */
export async function processInboxObject(ports: InboxPorts, key: string, nowMs: number): Promise<InboxOutcome> {
  const parsedKey = parseInboxKey(key);
  if (parsedKey.kind === 'skip') {
    await ports.objects.markIngested(key); // expires like an ingested object: the bucket keeps no checks forever
    return { outcome: 'skipped', reason: parsedKey.reason };
  }
  const reject = async (orgId: string | undefined, reason: string, countedByIngest = false): Promise<InboxOutcome> => {
    await ports.objects.moveAside(key, reason);
    if (orgId) await ports.recordInbox(orgId, { last_key: key, last_error: reason }, !countedByIngest);
    return { outcome: 'rejected', ...(orgId ? { orgId } : {}), reason };
  };
  if (parsedKey.kind === 'reject') return reject(parsedKey.orgId, parsedKey.reason);
  const { orgId } = parsedKey;

  const object = await ports.objects.get(key, INBOX_MAX_OBJECT_BYTES);
  if (!object) return { outcome: 'gone' };
  if ('tooLarge' in object) return reject(orgId, `larger than ${INBOX_MAX_OBJECT_BYTES} bytes (${object.size}): one LeadConduit event is one object of at most 1 MB`);
  const parsed = parseObject(object.body);
  if (!parsed.ok) {
    if (!ports.objects.atomic && nowMs - object.modifiedMs < INCOMPLETE_GRACE_MS) return { outcome: 'pending' };
    return reject(orgId, parsed.reason);
  }
  const [result] = await ports.ingest(orgId, [parsed.value], nowMs);
  if (!result) throw new Error('the LeadConduit ingest answered no result for the object');
  // Our own fault storing it (a dependency unavailable): the object stays, its message comes back.
  if (result.status === 'error') throw result.fault instanceof Error ? result.fault : new Error(reasonOf(result));
  if (result.status === 'created' || result.status === 'duplicate') {
    await ports.objects.markIngested(key);
    await ports.recordInbox(orgId, { last_key: key, last_error: null });
    return { outcome: result.status, orgId, ...(result.id ? { id: result.id } : {}) };
  }
  return reject(orgId, `not a LeadConduit event: ${reasonOf(result) ?? 'invalid'}`, true);
}

/** Strict UTF-8 (a leading BOM is dropped), then JSON that keeps every number's digits, as the API route parses. */
function parseObject(body: Uint8Array): { ok: true; value: unknown } | { ok: false; reason: string } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return { ok: false, reason: 'not valid UTF-8' };
  }
  if (text.trim() === '') return { ok: false, reason: 'empty: one LeadConduit event is one JSON object' };
  try {
    return { ok: true, value: parseJsonLossless(text) };
  } catch (error) {
    if (error instanceof JsonDepthError) return { ok: false, reason: `JSON ${error.message}` };
    // V8's message quotes the text around the fault (it may be a person's data): only where it is.
    const at = /at position (\d+)/.exec((error as Error).message);
    return { ok: false, reason: `not valid JSON${at ? ` (at position ${at[1]})` : /end of JSON input/.test((error as Error).message) ? ' (it ends too early)' : ''}` };
  }
}
