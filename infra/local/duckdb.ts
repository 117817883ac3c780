import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ARCHIVE_PREFIX, EVENTS_VIEW, RAW_TABLE, archiveColumns, eventsViewSql, partitionColumns, sqlLiteral as sqlString, type ColumnType,
} from '../../shared/definitions/archive.js';

/** DuckDB, the local stand-in for Athena and for Firehose's Parquet conversion. */
export async function openDuckDb(): Promise<DuckDBConnection> {
  const instance = await DuckDBInstance.create(':memory:');
  return instance.connect();
}

const DUCK_TYPES: Record<ColumnType, string> = { string: 'VARCHAR', timestamp: 'TIMESTAMP', double: 'DOUBLE', bigint: 'BIGINT' };

/** The columns of an archive row as DuckDB read_json wants them: {name: 'TYPE', …}, partitions included. */
export function duckColumnsSpec(): string {
  const entries = [...archiveColumns, ...partitionColumns].map((c) => `'${c.name}': '${DUCK_TYPES[c.type]}'`);
  return `{${entries.join(', ')}}`;
}

export { sqlString };

/**
 * Makes the archive under `dir` the table `events_raw` (hive partitions org_id, dt; every copy of a row) and the
 * view `events` (each event once), as the Glue table and view are in Athena. With `includeBuffered`, rows the
 * local archive accepted but has not flushed to Parquet yet are included too, so `npm run athena` sees an event
 * about a second after it was stored.
 */
export async function attachArchive(connection: DuckDBConnection, dir: string, options: { includeBuffered?: boolean } = {}): Promise<void> {
  const root = join(dir, ARCHIVE_PREFIX);
  const all = [...archiveColumns, ...partitionColumns];
  const names = all.map((c) => c.name).join(', ');
  const parts: string[] = [];
  if (existsSync(root)) {
    parts.push(`SELECT ${names} FROM read_parquet(${sqlString(join(root, '**', '*.parquet'))}, hive_partitioning = true, hive_types = {'org_id': VARCHAR, 'dt': VARCHAR}, union_by_name = true)`);
  }
  const buffered = options.includeBuffered ? snapshotBuffers(dir) : undefined;
  if (buffered) {
    // A buffered row the archive will quarantine (it cannot be encoded) is left out, never an error for the reader:
    // DuckDB reads such a line as nulls, and a row without its keys is not an archived row.
    parts.push(
      `SELECT ${names} FROM read_json(${sqlString(buffered)}, format = 'newline_delimited', columns = ${duckColumnsSpec()}, timestampformat = '%Y-%m-%dT%H:%M:%S.%gZ', ignore_errors = true)
       WHERE id IS NOT NULL AND org_id IS NOT NULL AND dt IS NOT NULL AND occurred_at IS NOT NULL AND received_at IS NOT NULL`,
    );
  }
  if (parts.length === 0) {
    await connection.run(`CREATE OR REPLACE TABLE ${RAW_TABLE} (${all.map((c) => `${c.name} ${DUCK_TYPES[c.type]}`).join(', ')})`);
  } else {
    await connection.run(`CREATE OR REPLACE VIEW ${RAW_TABLE} AS ${parts.join(' UNION ALL ')}`);
  }
  // The same view definition Athena has: each event once, whatever the raw table holds.
  await connection.run(`CREATE OR REPLACE VIEW ${EVENTS_VIEW} AS ${eventsViewSql(RAW_TABLE)}`);
}

/** A consistent copy of the not-yet-flushed buffer files (complete lines only), or undefined when there are none. */
function snapshotBuffers(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((name) => name === '_buffer.jsonl' || /^_flushing-.*\.jsonl$/.test(name));
  let text = '';
  for (const name of files) {
    try {
      const content = readFileSync(join(dir, name), 'utf8');
      text += content.slice(0, content.lastIndexOf('\n') + 1); // a line still being written is left for next time
    } catch {
      // renamed or removed by a flush in between: its rows are in Parquet now
    }
  }
  if (text === '') return undefined;
  const snapshot = join(mkdtempSync(join(tmpdir(), 'leadlog-athena-')), 'buffered.jsonl');
  writeFileSync(snapshot, text);
  return snapshot;
}
