import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  archiveConflict, archivedCheckpointOf, archivedCheckpointText, archiveKeyAfter, assertArchivable, checkpointArchiveFolderOf, checkpointArchiveKey,
  holdsSameCheckpoint, isCheckpointArchiveKey,
} from '../../shared/domain/checkpoint-archive.js';
import type { Checkpoint, CheckpointArchive } from '../../shared/domain/proofs.js';

/**
 * The local stand-in for the Object Lock bucket: `<data folder>/checkpoints/<org_id>/<tree_size, 16 digits>.json`,
 * the same key layout and the same bytes as S3 (shared/domain/checkpoint-archive.ts). Write-once by an exclusive
 * create ('wx'): an existing file is never replaced; the same checkpoint again is success, another one a
 * CheckpointArchiveConflict. (Locally anyone with the folder can still delete a file: Object Lock is AWS's.)
 */
export class LocalCheckpointArchive implements CheckpointArchive {
  constructor(private readonly dataDir: string) {
    if (!dataDir) throw new TypeError('LocalCheckpointArchive needs the data folder');
  }

  /** Where a checkpoint of that org and size is (or would be) kept. */
  fileOf(checkpoint: Pick<Checkpoint, 'org_id' | 'tree_size'>): string {
    return join(this.dataDir, checkpointArchiveKey(checkpoint));
  }

  async put(checkpoint: Checkpoint): Promise<void> {
    assertArchivable(checkpoint); // also what keeps org_id a single safe path segment
    const file = this.fileOf(checkpoint);
    await mkdir(dirname(file), { recursive: true });
    try {
      await writeFile(file, archivedCheckpointText(checkpoint), { flag: 'wx', mode: 0o444 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const existing = await readFile(file, 'utf8');
      if (!holdsSameCheckpoint(existing, checkpoint)) throw archiveConflict(checkpointArchiveKey(checkpoint), existing);
    }
  }

  async latestAbove(orgId: string, size: number): Promise<Checkpoint | undefined> {
    const folder = checkpointArchiveFolderOf(orgId);
    if (!folder) return undefined;
    let names: string[];
    try {
      names = await readdir(join(this.dataDir, folder));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    const after = archiveKeyAfter(folder, size);
    const last = names.map((name) => `${folder}${name}`).filter((key) => isCheckpointArchiveKey(folder, key) && (after === undefined || key > after)).sort().at(-1);
    if (last === undefined) return undefined;
    const checkpoint = archivedCheckpointOf(await readFile(join(this.dataDir, last), 'utf8'), last);
    if (!checkpoint) throw new Error(`The checkpoint archive's ${last} is not a checkpoint leadlog wrote`);
    return checkpoint;
  }
}
