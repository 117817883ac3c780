import { DuckDBPendingResultState, type DuckDBValue } from '@duckdb/node-api';
import type { NamedQueryName } from '../../shared/definitions/archive.js';
import { csvCell, csvField } from '../../shared/domain/exports.js';
import { namedQuerySql } from '../queries.js';
import { attachArchive, openDuckDb } from './duckdb.js';

export interface QueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
  /** Which columns are number-typed (DuckDB's JSON rows hold BIGINT and DECIMAL as text): exempt from CSV's formula rule. */
  numeric?: boolean[];
}

const NUMBER_TYPE = /^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL)/;

export interface ScanProgress {
  percentage: number;
  elapsedMs: number;
}

/**
 * Runs SQL over the local archive (the view `events`, the table `events_raw`), with `?` parameters, as Athena would
 * over the Glue table. With `onProgress`, the query runs task by task and reports DuckDB's progress every
 * `progressEveryMs` (5 s) while it scans.
 */
export async function runArchiveSql(
  archiveDir: string, sql: string, params: DuckDBValue[] = [],
  options: { includeBuffered?: boolean; onProgress?: (progress: ScanProgress) => void; progressEveryMs?: number } = {},
): Promise<QueryResult> {
  const connection = await openDuckDb();
  try {
    await attachArchive(connection, archiveDir, options);
    let reader;
    if (options.onProgress) {
      const pending = params.length > 0 ? await connection.start(sql, params) : await connection.start(sql);
      const started = Date.now();
      let reported = started;
      for (;;) {
        if (Date.now() - reported >= (options.progressEveryMs ?? 5000)) {
          reported = Date.now();
          options.onProgress({ percentage: connection.progress.percentage, elapsedMs: reported - started });
        }
        if (pending.runTask() === DuckDBPendingResultState.RESULT_READY) break;
        await new Promise((resolve) => setImmediate(resolve));
      }
      reader = await pending.readAll();
    } else {
      reader = params.length > 0 ? await connection.runAndReadAll(sql, params) : await connection.runAndReadAll(sql);
    }
    const numeric = reader.columnTypes().map((type) => NUMBER_TYPE.test(type.toString()));
    return { columns: reader.columnNames(), rows: reader.getRowObjectsJson() as Record<string, unknown>[], numeric };
  } finally {
    connection.closeSync();
  }
}

/** A named query for one org over [from, to] (UTC dates, inclusive). */
export function runNamedQuery(
  archiveDir: string, name: NamedQueryName, orgId: string, from = '1970-01-01', to = '9999-12-31', options: Parameters<typeof runArchiveSql>[3] = {},
): Promise<QueryResult> {
  return runArchiveSql(archiveDir, namedQuerySql(name), [orgId, from, to], options);
}

export function formatResult(result: QueryResult, format: 'table' | 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(result.rows, null, 2);
  const cell = (value: unknown) => (value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value));
  if (format === 'csv') {
    // The same cells as an export's CSV: text that begins like a formula gets a leading `'` (csvCell), numbers as they are.
    const text = (value: unknown, i: number) => (result.numeric?.[i] ? cell(value) : csvCell(cell(value)));
    return [result.columns.map((c) => csvField(csvCell(c))).join(','), ...result.rows.map((row) => result.columns.map((c, i) => csvField(text(row[c], i))).join(','))].join('\n');
  }
  const widths = result.columns.map((c) => Math.max(c.length, ...result.rows.map((row) => cell(row[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(result.columns), line(widths.map((w) => '-'.repeat(w))), ...result.rows.map((row) => line(result.columns.map((c) => cell(row[c])))), `(${result.rows.length} row${result.rows.length === 1 ? '' : 's'})`].join('\n');
}

export type { NamedQueryName };
