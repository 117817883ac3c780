import type { DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { ARCHIVE_ERROR_PREFIX, ARCHIVE_PREFIX, archiveColumns, erasedRowsPredicate, partitionColumns } from '../../shared/definitions/archive.js';
import type { Archive, ArchiveEraser, ArchiveRow } from '../../shared/domain/ports.js';
import { recordsOfErrorObject, repairRecord } from '../../shared/adapters/archive-redelivery.js';
import { duckColumnsSpec, openDuckDb, sqlString } from './duckdb.js';

/** Where the local archive sets aside a row it cannot encode: Firehose's error prefix, output type and day layout. */
export const QUARANTINE_OUTPUT_TYPE = 'format-conversion-failed';

/** A row set aside: its org and event id when the line still parses, DuckDB's reason, and the error object holding it. */
export interface QuarantinedRow {
  orgId: string | undefined;
  id: string | undefined;
  reason: string;
  object: string;
}

/**
 * The local stand-in for Firehose → S3 Parquet. Rows are appended (and fsynced) to a buffer file before
 * putRows returns, so an acknowledged row survives a crash; the buffer becomes Parquet in the same
 * org_id=/dt= layout on a size or time trigger and on shutdown. A flush writes to a temporary folder, then
 * moves the files in. Like Firehose it may hold a row twice (a replayed stream record): readers use the `events`
 * view, which shows each event once.
 * One tenant's row never stops the archive for anyone (contract sections 3 and 6): a buffer DuckDB refuses is
 * bisected until each row it cannot encode stands alone, and that row is quarantined with DuckDB's reason under
 * Firehose's error prefix (errors/format-conversion-failed/dt=<day>/, the records as Firehose writes them, so
 * `npm run archive -- redeliver --local` re-feeds them) while every other row is archived. A flush that fails for
 * another reason (disk, DuckDB) leaves its file for the next flush and never blocks putRows, later flushes, start
 * or stop: no call here throws because of a buffer's content.
 * An erasure flushes, then rewrites each Parquet file holding the leads' rows without them (temp file + rename,
 * so a crash leaves every file whole, old or new), in turn with flushes.
 */
export class LocalArchive implements Archive, ArchiveEraser {
  private readonly buffer: string;
  private pendingRows = 0;
  /** The flush chain; it never rejects (each flush's own promise does), so one failed flush never poisons the next. */
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private connection: Promise<DuckDBConnection> | undefined;
  /** Rows quarantined by this instance (the runtime prints it with each quarantine). */
  quarantined = 0;

  constructor(
    private readonly options: {
      dir: string; maxRows?: number; maxAgeMs?: number;
      /** Called once per quarantined row (the runtime logs it, masked, and counts it). */
      onQuarantine?: (row: QuarantinedRow) => void;
      /** A flush that failed for a reason other than a row (its file is kept and retried); default: console.error. */
      onError?: (error: Error) => void;
    },
  ) {
    this.buffer = join(options.dir, '_buffer.jsonl');
  }

  /** Finishes any flush a crash interrupted (never throwing: a file it cannot finish is retried later), then flushes on a timer. */
  async start(): Promise<void> {
    await mkdir(this.options.dir, { recursive: true });
    await this.flush().catch((error: Error) => this.reportError(error));
    this.timer = setInterval(() => void this.flush().catch((error: Error) => this.reportError(error)), this.options.maxAgeMs ?? 10_000);
    this.timer.unref();
  }

  /** Flushes what is buffered; never throws (what could not be flushed stays on disk for the next start). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush().catch((error: Error) => this.reportError(error));
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
    // The rows are durable now: a flush that fails is the archive's to retry, never the caller's.
    if (this.pendingRows >= (this.options.maxRows ?? 5_000)) await this.flush().catch((error: Error) => this.reportError(error));
    return [];
  }

  /**
   * Turns the buffer into Parquet now, with every file an earlier flush or a crash left (and rows re-fed by
   * `npm run archive -- redeliver --local`). Each file is encoded on its own: one that fails stays for the next flush.
   */
  flush(): Promise<void> {
    const run = this.flushing.then(async () => {
      if (existsSync(this.buffer)) {
        await rename(this.buffer, join(this.options.dir, `_flushing-${Date.now()}-${process.pid}.jsonl`));
        this.pendingRows = 0;
      }
      let failed: unknown;
      for (const name of (await readdir(this.options.dir)).filter((n) => FLUSHING_FILE.test(n)).sort()) {
        try {
          await this.writeParquet(join(this.options.dir, name));
        } catch (error) {
          failed ??= error;
        }
      }
      if (failed !== undefined) throw failed;
    });
    this.flushing = run.catch(() => undefined);
    return run;
  }

  eraseLeads(orgId: string, leadIds: readonly string[], erasureId: string, eventIds: readonly string[] = []): Promise<{ rows: number; files: number }> {
    let removed = { rows: 0, files: 0 };
    const erasing = this.flush().then(async () => {
      const folder = join(this.options.dir, ARCHIVE_PREFIX, `org_id=${orgId}`);
      if ((leadIds.length === 0 && eventIds.length === 0) || !existsSync(folder)) return;
      const db = await this.db();
      const where = erasedRowsPredicate(orgId, leadIds, eventIds);
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
    }).then(async () => {
      const quarantined = await this.eraseQuarantined(orgId, leadIds, erasureId);
      removed = { rows: removed.rows + quarantined.rows, files: removed.files + quarantined.files };
    });
    this.flushing = erasing.catch(() => undefined);
    return erasing.then(() => removed);
  }

  /** The quarantine holds rows too: an erased lead's quarantined records are removed from their error objects (temp + rename). */
  private async eraseQuarantined(orgId: string, leadIds: readonly string[], erasureId: string): Promise<{ rows: number; files: number }> {
    const removed = { rows: 0, files: 0 };
    const errors = join(this.options.dir, ARCHIVE_ERROR_PREFIX);
    if (leadIds.length === 0 || !existsSync(errors)) return removed;
    const leads = new Set(leadIds);
    for (const entry of (await readdir(errors, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && !e.name.endsWith('.tmp'))) {
      const path = join(entry.parentPath, entry.name);
      const lines = (await readFile(path, 'utf8')).split('\n').filter((line) => line.trim() !== '');
      const kept = lines.filter((line) => {
        const [record] = recordsOfErrorObject(line);
        const row = record ? parseRow(record.toString('utf8')) : undefined;
        return !(row?.org_id === orgId && row.lead_id !== undefined && leads.has(row.lead_id));
      });
      if (kept.length === lines.length) continue;
      if (kept.length === 0) await rm(path, { force: true });
      else {
        await writeFile(`${path}.${erasureId}.tmp`, `${kept.join('\n')}\n`);
        await rename(`${path}.${erasureId}.tmp`, path);
      }
      removed.rows += lines.length - kept.length;
      removed.files++;
    }
    return removed;
  }

  private db(): Promise<DuckDBConnection> {
    this.connection ??= openDuckDb();
    return this.connection;
  }

  private reportError(error: Error): void {
    if (this.options.onError) this.options.onError(error);
    else console.error('leadlog: archive flush (retried on the next flush):', error.message);
  }

  /**
   * One buffer file to Parquet: in one COPY when DuckDB takes it whole, else bisected so that only the rows DuckDB
   * refuses (each alone) are quarantined. The file is removed once every row is archived or quarantined; a crash
   * in between re-encodes it on the next flush (at least once, as Firehose; the `events` view counts each event once).
   */
  private async writeParquet(flushingFile: string): Promise<void> {
    const id = basename(flushingFile).match(FLUSHING_FILE)![1]!;
    const work = join(this.options.dir, '_tmp', `${id}-${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      const refused = await this.encode(flushingFile, join(work, 'all'), id);
      if (refused) {
        const lines = (await readFile(flushingFile, 'utf8')).split('\n').filter((line) => line.trim() !== '');
        const bad: { line: string; reason: string }[] = [];
        await this.bisect(lines, work, id, 'p', bad);
        await this.quarantine(bad, id);
      }
      await rm(flushingFile, { force: true });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Encodes `lines`; a part DuckDB refuses for its content is halved until a refused row stands alone. */
  private async bisect(lines: string[], work: string, id: string, name: string, bad: { line: string; reason: string }[]): Promise<void> {
    const file = join(work, `${name}.jsonl`);
    await writeFile(file, `${lines.join('\n')}\n`);
    const refused = await this.encode(file, join(work, name), `${id}-${name}`);
    await rm(file, { force: true });
    if (!refused) return;
    if (lines.length === 1) {
      bad.push({ line: lines[0]!, reason: refused });
      return;
    }
    const half = lines.length >>> 1;
    await this.bisect(lines.slice(0, half), work, id, `${name}a`, bad);
    await this.bisect(lines.slice(half), work, id, `${name}b`, bad);
  }

  /**
   * One JSON-lines file → Parquet files moved into the archive. Returns DuckDB's reason when it refuses the rows'
   * content (malformed JSON, a lone surrogate, a value that does not convert); throws on any other failure (I/O),
   * which is not the rows' fault and must not quarantine them.
   */
  private async encode(source: string, out: string, name: string): Promise<string | undefined> {
    const db = await this.db();
    const read = `read_json(${sqlString(source)}, format = 'newline_delimited', columns = ${duckColumnsSpec()}, timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ')`;
    const columns = [...archiveColumns, ...partitionColumns].map((c) => c.name).join(', ');
    try {
      // Every row as it came, a replayed stream record included: like Firehose, the archive is at least once, and
      // the `events` view (shared/definitions/archive.ts) counts each event once.
      await db.run(
        `COPY (SELECT ${columns} FROM ${read} ORDER BY org_id, dt, occurred_at, id)
         TO ${sqlString(out)} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (org_id, dt), FILENAME_PATTERN ${sqlString(`part-${name}-{uuid}`)})`,
      );
    } catch (error) {
      await rm(out, { recursive: true, force: true });
      const message = (error as Error).message;
      if (!ROW_ERROR.test(message)) throw error;
      return cleanReason(message);
    }
    const root = join(this.options.dir, ARCHIVE_PREFIX);
    for (const file of await listFiles(out)) {
      const target = join(root, relative(out, file));
      await mkdir(join(target, '..'), { recursive: true });
      await rename(file, target);
    }
    return undefined;
  }

  /**
   * Writes refused rows as one error object, each line as Firehose writes a record it could not convert (the row,
   * base64, in `rawData`; the reason in `ErrorMessage`), then reports each. Temp file + rename: whole or absent.
   */
  private async quarantine(bad: { line: string; reason: string }[], id: string): Promise<void> {
    if (bad.length === 0) return;
    const now = Date.now();
    const folder = join(this.options.dir, ARCHIVE_ERROR_PREFIX, QUARANTINE_OUTPUT_TYPE, `dt=${new Date(now).toISOString().slice(0, 10)}`);
    await mkdir(folder, { recursive: true });
    const object = join(folder, `leadlog-local-archive-${id}.jsonl`);
    const lines = bad.map(({ line, reason }) => JSON.stringify({
      attemptsMade: 1, arrivalTimestamp: now, ErrorCode: 'LocalArchive.CannotEncode', ErrorMessage: reason, attemptEndingTimestamp: now,
      rawData: Buffer.from(line, 'utf8').toString('base64'),
    }));
    await writeFile(`${object}.tmp`, `${lines.join('\n')}\n`);
    await rename(`${object}.tmp`, object);
    for (const { line, reason } of bad) {
      this.quarantined++;
      const row = parseRow(line);
      this.options.onQuarantine?.({ orgId: row?.org_id, id: row?.id, reason, object });
    }
  }
}

/**
 * `npm run archive -- redeliver --local`: re-feeds the local archive's quarantine (its errors/ prefix) into the
 * archive, object by object: the object's records (with `repair`, made well-formed: repairRecord) become a buffer
 * file the next flush encodes (the running `npm start`'s, or the caller's), then the object is removed. A crash in
 * between re-feeds one object twice, which the `events` view absorbs; a row still unencodable is quarantined again,
 * with its reason, never lost.
 */
export async function redeliverLocalErrors(dir: string, options: { repair?: boolean; dryRun?: boolean } = {}): Promise<{ objects: number; records: number; files: string[] }> {
  const done = { objects: 0, records: 0, files: [] as string[] };
  const errors = join(dir, ARCHIVE_ERROR_PREFIX);
  if (!existsSync(errors)) return done;
  for (const object of (await readdir(errors, { recursive: true, withFileTypes: true })).filter((e) => e.isFile() && !e.name.endsWith('.tmp'))) {
    const path = join(object.parentPath, object.name);
    const found = recordsOfErrorObject(await readFile(path, 'utf8'));
    const records = options.repair ? found.map(repairRecord) : found;
    if (!options.dryRun) {
      if (records.length > 0) {
        const name = `_flushing-redeliver-${Date.now()}-${process.pid}-${done.objects}.jsonl`;
        await writeFile(join(dir, `${name}.tmp`), Buffer.concat(records.flatMap((record) => [record, Buffer.from('\n')])));
        await rename(join(dir, `${name}.tmp`), join(dir, name)); // whole or absent before the next flush looks
        done.files.push(join(dir, name));
      }
      await rm(path, { force: true });
    }
    done.objects++;
    done.records += records.length;
  }
  return done;
}

/** A buffer file being flushed (or left by a crash, or re-fed by the redelivery command); group 1 names its output. */
const FLUSHING_FILE = /^_flushing-(.*)\.jsonl$/;

/** DuckDB's errors about the input rows themselves (as opposed to I/O or internal ones). */
const ROW_ERROR = /^(Invalid Input|Conversion|Out of Range) Error/;

/** DuckDB's message without the scratch file's path and its generic hint. */
function cleanReason(message: string): string {
  return message.split('\nTry setting')[0]!.replace(/ in file "[^"]*"(, at byte \d+)?(,)?( in line \d+)?/, '').trim().slice(0, 500);
}

function parseRow(line: string): { org_id?: string; id?: string; lead_id?: string } | undefined {
  try {
    const row = JSON.parse(line) as Record<string, unknown>;
    const text = (name: string) => (typeof row[name] === 'string' ? { [name]: row[name] } : {});
    return { ...text('org_id'), ...text('id'), ...text('lead_id') };
  } catch {
    return undefined;
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
