import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { exportKey } from '../../shared/adapters/export-links.js';
import {
  csvCellSql, EXPORT_COLUMNS, EXPORT_EXTENSIONS, isoTimestamp, JSON_COLUMNS, NUMERIC_COLUMNS, TIMESTAMP_COLUMNS, exportWhere, type ExportEngine, type ExportJob,
} from '../../shared/domain/exports.js';
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { attachArchive, openDuckDb, sqlString } from './duckdb.js';

/**
 * The local stand-in for an export's Athena queries: DuckDB over the archive (the `events` view, so each event
 * once; rows the archive accepted but has not flushed yet included). Each day is written as a part file under
 * `<files>/_parts/<org>/<id>/`, then the parts are joined into `<files>/exports/<org>/<id>.<ext>` (temp + rename), the key
 * the export bucket has in AWS.
 */
/** DuckDB's memory for one export query (it spills past it). */
const EXPORT_MEMORY_LIMIT = '512MB';

export class LocalExporter implements ExportEngine {
  constructor(private readonly options: { archiveDir: string; exportDir: string }) {}

  /** Where the finished file of a job is. */
  fileOf(job: Pick<ExportJob, 'orgId' | 'id' | 'format'>): string {
    return join(this.options.exportDir, exportKey(job));
  }

  private partsOf(job: ExportJob): string {
    return join(this.options.exportDir, '_parts', job.orgId, job.id);
  }

  private async query<T>(run: (connection: Awaited<ReturnType<typeof openDuckDb>>) => Promise<T>): Promise<T> {
    const connection = await openDuckDb();
    try {
      // Bounded: past it DuckDB spills to disk, so a large export does not take the laptop's memory.
      await connection.run(`SET memory_limit = '${EXPORT_MEMORY_LIMIT}'`);
      await attachArchive(connection, this.options.archiveDir, { includeBuffered: true });
      return await run(connection);
    } finally {
      connection.closeSync();
    }
  }

  async days(job: ExportJob): Promise<string[]> {
    const where = exportWhere(job.orgId, job.filter);
    return this.query(async (connection) => {
      const reader = await connection.runAndReadAll(`SELECT DISTINCT dt ${where.sql} ORDER BY dt`, where.params);
      return reader.getRowObjectsJson().map((row) => String(row.dt));
    });
  }

  async writeDay(job: ExportJob, day: string): Promise<{ rows: number }> {
    const parts = this.partsOf(job);
    await mkdir(parts, { recursive: true });
    const where = exportWhere(job.orgId, job.filter, { from: day, to: day });
    const part = join(parts, `${day}.${EXPORT_EXTENSIONS[job.format]}`);
    const temp = `${part}.tmp`;
    const select = `SELECT ${selectList(job.format)} ${where.sql} ORDER BY occurred_at, id`;
    const rows = await this.query(async (connection) => {
      if (job.format === 'jsonl') return writeJsonLines(connection, select, where.params, temp);
      const reader = await connection.runAndReadAll(`COPY (${select}) TO ${sqlString(temp)} (${copyOptions(job.format)})`, where.params);
      return Number(reader.getRows()[0]?.[0] ?? 0);
    });
    await rename(temp, part);
    return { rows };
  }

  async holdsLeads(job: ExportJob, leadIds: readonly string[], eventIds: readonly string[] = []): Promise<boolean> {
    if (leadIds.length === 0 && eventIds.length === 0) return false;
    const where = exportWhere(job.orgId, job.filter);
    const named = [
      ...(leadIds.length > 0 ? [`lead_id IN (${leadIds.map(() => '?').join(', ')})`] : []),
      ...(eventIds.length > 0 ? [`id IN (${eventIds.map(() => '?').join(', ')})`] : []),
    ];
    return this.query(async (connection) => {
      const reader = await connection.runAndReadAll(
        `SELECT 1 ${where.sql} AND ${named.length === 1 ? named[0] : `(${named.join(' OR ')})`} LIMIT 1`, [...where.params, ...leadIds, ...eventIds],
      );
      return reader.getRows().length > 0;
    });
  }

  async discard(job: ExportJob): Promise<void> {
    await rm(this.partsOf(job), { recursive: true, force: true });
    await rm(this.fileOf(job), { force: true });
    await rm(`${this.fileOf(job)}.tmp`, { force: true });
  }

  async finish(job: ExportJob): Promise<{ bytes: number }> {
    const parts = this.partsOf(job);
    const file = this.fileOf(job);
    const temp = `${file}.tmp`;
    await mkdir(dirname(file), { recursive: true });
    const names = existsSync(parts) ? (await readdir(parts)).filter((n) => !n.endsWith('.tmp')).sort() : [];
    const files = names.map((n) => join(parts, n));
    if (job.format === 'parquet') {
      await this.query(async (connection) => {
        // Days in order, each part already in (occurred_at, id) order: the file is in that order too.
        const source = files.length === 0 ? emptySelect() : `SELECT * FROM read_parquet([${files.map(sqlString).join(', ')}])`;
        await connection.run(`COPY (${source}) TO ${sqlString(temp)} (${copyOptions('parquet')})`);
      });
    } else {
      // CSV and JSONL parts are joined byte for byte (CSV under one header row), so no value is read back and retyped.
      const sink = createWriteStream(temp);
      if (job.format === 'csv') sink.write(`${EXPORT_COLUMNS.join(',')}\n`);
      for (const part of files) {
        for await (const chunk of createReadStream(part)) if (!sink.write(chunk)) await once(sink, 'drain');
      }
      await new Promise<void>((resolve, reject) => sink.end((error?: Error | null) => (error ? reject(error) : resolve())));
    }
    await rename(temp, file);
    await rm(parts, { recursive: true, force: true });
    return { bytes: (await stat(file)).size };
  }
}

/**
 * JSONL, one object a line in the export's column order, JSON columns nested as the archive holds them (their text is
 * written as is: every digit kept). Streamed chunk by chunk from DuckDB and written here rather than by DuckDB's
 * `COPY … (FORMAT json)` over `CAST(… AS JSON)`, which parses every document and ran out of its 512 MB on a lead of
 * 200 events of 225 KB (CSV and Parquet of the same rows fit).
 */
async function writeJsonLines(connection: DuckDBConnection, select: string, params: DuckDBValue[], file: string): Promise<number> {
  const result = await connection.stream(select, params);
  const names = result.columnNames();
  const keys = names.map((name) => `${JSON.stringify(name)}:`);
  const sink = createWriteStream(file);
  let rows = 0;
  try {
    for (let chunk = await result.fetchChunk(); chunk && chunk.rowCount > 0; chunk = await result.fetchChunk()) {
      for (const row of chunk.getRows()) {
        const fields = row.map((value, i) => keys[i] + jsonValue(names[i]!, value));
        if (!sink.write(`{${fields.join(',')}}\n`)) await once(sink, 'drain');
        rows++;
      }
    }
  } finally {
    await new Promise<void>((resolve, reject) => sink.end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
  return rows;
}

/** One value of a JSONL line: a JSON column's text as is; numbers as numbers (BIGINT's digits kept); text quoted. */
function jsonValue(name: string, value: DuckDBValue): string {
  if (value === null || value === undefined) return 'null';
  if (JSON_COLUMNS.has(name) && typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'bigint') return value.toString();
  return JSON.stringify(String(value));
}

/**
 * Timestamps as ISO 8601 UTC text in CSV and JSONL (`2026-11-23T14:30:45.123Z`), TIMESTAMP in Parquet; JSON columns
 * nested in JSONL (writeJsonLines); in CSV every text cell that begins like a formula prefixed with `'` (csvCellSql; numbers exempt).
 */
function selectList(format: ExportJob['format']): string {
  return EXPORT_COLUMNS.map((name) => {
    if (TIMESTAMP_COLUMNS.has(name) && format !== 'parquet') return `${isoTimestamp(name, 'duckdb')} AS ${name}`;
    if (format === 'csv' && !NUMERIC_COLUMNS.has(name)) return `${csvCellSql(name)} AS ${name}`;
    return name;
  }).join(', ');
}

/** A part and the final file; CSV parts have no header (the joined file has one). */
/** DuckDB's COPY options for the formats it writes (JSONL is written by writeJsonLines, never COPY). */
function copyOptions(format: Exclude<ExportJob['format'], 'jsonl'>): string {
  return format === 'parquet' ? 'FORMAT parquet, COMPRESSION zstd' : `FORMAT csv, HEADER false, QUOTE '"', ESCAPE '"'`;
}

function emptySelect(): string {
  return `SELECT ${EXPORT_COLUMNS.map((name) => `CAST(NULL AS VARCHAR) AS ${name}`).join(', ')} WHERE false`;
}
