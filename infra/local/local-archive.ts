import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ARCHIVE_PREFIX, archiveColumns, erasedRowsPredicate, partitionColumns } from '../../shared/definitions/archive.js';
import type { Archive, ArchiveEraser, ArchiveRow } from '../../shared/domain/ports.js';
import { duckColumnsSpec, openDuckDb, sqlString } from './duckdb.js';

/**
 * The local stand-in for Firehose → S3 Parquet. Rows are appended (and fsynced) to a buffer file before
 * putRows returns, so an acknowledged row survives a crash; the buffer becomes Parquet in the same
 * org_id=/dt= layout on a size or time trigger and on shutdown. A flush writes to a temporary folder, then
 * moves the files in. Like Firehose it may hold a row twice (a replayed stream record): readers use the `events`
 * view, which shows each event once.
 * An erasure flushes, then rewrites each Parquet file holding the leads' rows without them (temp file + rename,
 * so a crash leaves every file whole, old or new), in turn with flushes.
 */
export class LocalArchive implements Archive, ArchiveEraser {
  private readonly buffer: string;
  private pendingRows = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private connection: Promise<DuckDBConnection> | undefined;

  constructor(private readonly options: { dir: string; maxRows?: number; maxAgeMs?: number }) {
    this.buffer = join(options.dir, '_buffer.jsonl');
  }

  /** Finishes any flush a crash interrupted, then flushes on a timer. */
  async start(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    for (const name of await readdir(this.options.dir)) if (/^_flushing-.*\.jsonl$/.test(name)) await this.writeParquet(join(this.options.dir, name));
    this.timer = setInterval(() => void this.flush().catch((e) => console.error('leadlog: archive flush:', (e as Error).message)), this.options.maxAgeMs ?? 10_000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
  }

  async putRows(rows: ArchiveRow[]): Promise<number[]> {
    if (rows.length === 0) return [];
    await this.flushing; // never append to a buffer that is being renamed away
    const handle = await open(this.buffer, 'a');
    try {
      await handle.appendFile(rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.pendingRows += rows.length;
    if (this.pendingRows >= (this.options.maxRows ?? 5_000)) await this.flush();
    return [];
  }

  /** Turns the buffer into Parquet now. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      if (!existsSync(this.buffer)) return;
      const flushingFile = join(this.options.dir, `_flushing-${Date.now()}-${process.pid}.jsonl`);
      await rename(this.buffer, flushingFile);
      this.pendingRows = 0;
      await this.writeParquet(flushingFile);
    });
    return this.flushing;
  }

  eraseLeads(orgId: string, leadIds: readonly string[], erasureId: string): Promise<{ rows: number; files: number }> {
    let removed = { rows: 0, files: 0 };
    const erasing = this.flush().then(async () => {
      const folder = join(this.options.dir, ARCHIVE_PREFIX, `org_id=${orgId}`);
      if (leadIds.length === 0 || !existsSync(folder)) return;
      const db = await this.db();
      const where = erasedRowsPredicate(orgId, leadIds);
      // The files holding the leads' rows, with how many of theirs and how many others each holds (one scan).
      const files = (await db.runAndReadAll(
        `SELECT filename, (count(*) FILTER (WHERE ${where.leads}))::INTEGER AS rows, (count(*) FILTER (WHERE NOT (${where.leads})))::INTEGER AS kept
         FROM read_parquet(${sqlString(join(folder, '*', '*.parquet'))}, filename = true, hive_partitioning = false) GROUP BY filename HAVING rows > 0`,
      )).getRowObjects() as { filename: string; rows: number; kept: number }[];
      for (const { filename, rows, kept } of files) {
        const temp = `${filename}.${erasureId}.tmp`;
        if (kept === 0) {
          await rm(filename, { force: true });
        } else {
          await db.run(`COPY (SELECT * FROM read_parquet(${sqlString(filename)}, hive_partitioning = false) WHERE NOT (${where.leads})) TO ${sqlString(temp)} (FORMAT parquet, COMPRESSION zstd)`);
          await rename(temp, filename);
        }
        removed = { rows: removed.rows + rows, files: removed.files + 1 };
      }
    });
    this.flushing = erasing.catch(() => undefined);
    return erasing.then(() => removed);
  }

  private db(): Promise<DuckDBConnection> {
    this.connection ??= openDuckDb();
    return this.connection;
  }

  private async writeParquet(flushingFile: string): Promise<void> {
    const id = flushingFile.match(/_flushing-(.*)\.jsonl$/)![1]!;
    const root = join(this.options.dir, ARCHIVE_PREFIX);
    const temp = join(this.options.dir, '_tmp', id);
    await rm(temp, { recursive: true, force: true });
    await mkdir(join(this.options.dir, '_tmp'), { recursive: true });
    const db = await this.db();
    const source = `read_json(${sqlString(flushingFile)}, format = 'newline_delimited', columns = ${duckColumnsSpec()}, timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')`;
    const columns = [...archiveColumns, ...partitionColumns].map((c) => c.name).join(', ');
    // Every row as it came, a replayed stream record included: like Firehose, the archive is at least once, and
    // the `events` view (shared/definitions/archive.ts) counts each event once.
    await db.run(
      `COPY (SELECT ${columns} FROM ${source} ORDER BY org_id, dt, occurred_at, id)
       TO ${sqlString(temp)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (org_id, dt), FILENAME_PATTERN ${sqlString(`part-${id}-{uuid}`)})`,
    );
    for (const file of await listFiles(temp)) {
      const target = join(root, relative(temp, file));
      await mkdir(join(target, '..'), { recursive: true });
      await rename(file, target);
    }
    await rm(temp, { recursive: true, force: true });
    await rm(flushingFile, { force: true });
  }
}

async function listFiles(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.name.endsWith('.parquet')) out.push(path);
  }
  return out;
}
