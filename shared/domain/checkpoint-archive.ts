import { checkpointBody, parseCheckpointBody, type Checkpoint } from './proofs.js';

/**
 * The checkpoint archive's layout and write-once rule, shared by its two stand-ins (S3 with Object Lock in AWS,
 * shared/adapters/s3-checkpoint-archive.ts; files under the data folder locally, infra/local/local-checkpoint-archive.ts).
 * Pure: no SDK, no file system.
 *
 * Invariants:
 *  - one object per (org, tree size): `checkpoints/<org_id>/<tree_size, 16 digits>.json`; the zero padding makes a
 *    listing's lexical order the tree's order (tree sizes are below 10^16, as parseCheckpointBody allows);
 *  - only a checkpoint whose body is exactly `checkpointBody` of its own fields is archived, so the org id in the
 *    path is one parseCheckpointBody accepted ([A-Za-z0-9_-]{1,64}: no `/`, no `..`, nothing a path could escape with);
 *  - an object is never replaced: writing the same checkpoint again is success (a retried run), writing another one
 *    under the same key is a CheckpointArchiveConflict (two different statements of one tree size).
 */

export const CHECKPOINT_ARCHIVE_PREFIX = 'checkpoints/';

/** An org's folder in the archive; undefined for an org id no archived checkpoint can have (not one path segment). */
export function checkpointArchiveFolderOf(orgId: string): string | undefined {
  return /^[A-Za-z0-9_-]{1,64}$/.test(orgId) ? `${CHECKPOINT_ARCHIVE_PREFIX}${orgId}/` : undefined;
}

/** Whether an archive key is one of `checkpointArchiveKey`'s in this folder (anything else in the folder is ignored). */
export const isCheckpointArchiveKey = (folder: string, key: string): boolean =>
  key.startsWith(folder) && /^\d{16}\.json$/.test(key.slice(folder.length));

/** The key a listing starts after to find the checkpoints above `size` (none: from the folder's start). */
export const archiveKeyAfter = (folder: string, size: number): string | undefined =>
  size >= 0 ? `${folder}${String(size).padStart(16, '0')}.json` : undefined;

/** The 7 fields of a checkpoint, in the order the archive writes them. */
const FIELDS = ['org_id', 'tree_size', 'root_hash', 'issued_at', 'body', 'signature', 'key_id'] as const;

/**
 * Another checkpoint of the same (org, size) is archived. `existing` is it, when it is an archivable checkpoint (else
 * undefined: the object is not one leadlog wrote). A run that crashed between the archive and the store re-signs the
 * same statement with a new signature (ECDSA is randomized) and lands here: it may adopt `existing` once it verifies
 * under the key and commits to the same root, since the archived one is the statement the world can already see.
 */
export class CheckpointArchiveConflict extends Error {
  override name = 'CheckpointArchiveConflict';
  constructor(message: string, readonly existing: Checkpoint | undefined) {
    super(message);
  }
}

/** Throws unless the checkpoint is one the archive may hold (its body is checkpointBody of its own fields). */
export function assertArchivable(checkpoint: Checkpoint): void {
  const statement = parseCheckpointBody(checkpoint.body);
  const consistent = statement !== undefined && checkpointBody(checkpoint) === checkpoint.body
    && statement.org_id === checkpoint.org_id && statement.tree_size === checkpoint.tree_size
    && statement.root_hash === checkpoint.root_hash && statement.issued_at === checkpoint.issued_at;
  if (!consistent) throw new TypeError('Not an archivable checkpoint: its body is not checkpointBody of its own fields');
  if (typeof checkpoint.signature !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(checkpoint.signature)) throw new TypeError('Not an archivable checkpoint: the signature is not base64');
  if (typeof checkpoint.key_id !== 'string' || checkpoint.key_id.length === 0 || checkpoint.key_id.length > 2048) throw new TypeError('Not an archivable checkpoint: no key id');
}

/** `checkpoints/<org_id>/<tree_size zero-padded to 16>.json` (call assertArchivable first). */
export function checkpointArchiveKey(checkpoint: Pick<Checkpoint, 'org_id' | 'tree_size'>): string {
  return `${CHECKPOINT_ARCHIVE_PREFIX}${checkpoint.org_id}/${String(checkpoint.tree_size).padStart(16, '0')}.json`;
}

/** The object's bytes: JSON of the checkpoint's 7 fields in a fixed order (extra properties are not archived). */
export function archivedCheckpointText(checkpoint: Checkpoint): string {
  return `${JSON.stringify(Object.fromEntries(FIELDS.map((field) => [field, checkpoint[field]])))}\n`;
}

/** Whether an object already under the key holds this very checkpoint (all 7 fields equal); never throws. */
export function holdsSameCheckpoint(existingText: string, checkpoint: Checkpoint): boolean {
  try {
    const existing = JSON.parse(existingText) as Record<string, unknown> | null;
    return typeof existing === 'object' && existing !== null && FIELDS.every((field) => existing[field] === checkpoint[field]);
  } catch {
    return false;
  }
}

/** The conflict a second, different checkpoint of one (org, tree size) is, with the archived one when it is one. */
export function archiveConflict(key: string, existingText: string): CheckpointArchiveConflict {
  return new CheckpointArchiveConflict(`The checkpoint archive already holds a different checkpoint at ${key}; archived checkpoints are never replaced`, archivedCheckpointOf(existingText, key));
}

/** The checkpoint an archived object holds: its 7 fields, archivable, and at the key its fields name; else undefined. */
export function archivedCheckpointOf(text: string, key: string): Checkpoint | undefined {
  try {
    const parsed = JSON.parse(text) as Record<string, unknown> | null;
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const checkpoint = Object.fromEntries(FIELDS.map((field) => [field, parsed[field]])) as unknown as Checkpoint;
    assertArchivable(checkpoint);
    return checkpointArchiveKey(checkpoint) === key ? checkpoint : undefined;
  } catch {
    return undefined;
  }
}
