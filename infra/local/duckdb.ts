import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ARCHIVE_PREFIX, archiveColumns, partitionColumns, type ColumnType } from '../../shared/definitions/archive.js';

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

export function sqlString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Makes the archive under `dir` the table `events` (hive partitions org_id, dt), as the Glue table is in Athena. */
export async function attachArchive(connection: DuckDBConnection, dir: string): Promise<void> {
  const root = join(dir, ARCHIVE_PREFIX);
  const columns = [...archiveColumns, ...partitionColumns].map((c) => `${c.name} ${DUCK_TYPES[c.type]}`).join(', ');
  if (!existsSync(root)) {
    await connection.run(`CREATE OR REPLACE TABLE events (${columns})`);
    return;
  }
  await connection.run(
    `CREATE OR REPLACE VIEW events AS SELECT * FROM read_parquet(${sqlString(join(root, '**', '*.parquet'))}, hive_partitioning = true, hive_types = {'org_id': VARCHAR, 'dt': VARCHAR}, union_by_name = true)`,
  );
}
