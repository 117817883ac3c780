import { fromArchiveRow } from '../../shared/domain/archive.js';
import { EXPORT_COLUMNS, exportWhere, TIMESTAMP_COLUMNS } from '../../shared/domain/exports.js';
import type { ArchivedEvents, ArchivePosition, ReplayFilter } from '../../shared/domain/replays.js';
import { toIso } from '../../shared/domain/time.js';
import { attachArchive, openDuckDb } from './duckdb.js';

/** The archive's columns, timestamps as ISO 8601 UTC text, and the org. */
const COLUMNS = [...EXPORT_COLUMNS.map((name) => (TIMESTAMP_COLUMNS.has(name) ? `strftime(${name}, '%Y-%m-%dT%H:%M:%S.%gZ') AS ${name}` : name)), 'org_id'].join(', ');

/** The local stand-in for reading archived events back (a replay older than the hot store): DuckDB over the archive. */
export class LocalArchivedEvents implements ArchivedEvents {
  constructor(private readonly archiveDir: string) {}

  private where(orgId: string, filter: ReplayFilter) {
    return exportWhere(orgId, filter, { from: toIso(filter.fromMs).slice(0, 10), to: toIso(filter.toMs - 1).slice(0, 10) });
  }

  private async run(sql: string, params: (string | number)[]): Promise<Record<string, unknown>[]> {
    const connection = await openDuckDb();
    try {
      await attachArchive(connection, this.archiveDir, { includeBuffered: true });
      return (await connection.runAndReadAll(sql, params)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
    }
  }

  async count(orgId: string, filter: ReplayFilter): Promise<number> {
    const where = this.where(orgId, filter);
    return Number((await this.run(`SELECT count(*) AS n ${where.sql}`, where.params))[0]!.n);
  }

  async page(orgId: string, filter: ReplayFilter, after: ArchivePosition | undefined, limit: number): Promise<{ events: ReturnType<typeof fromArchiveRow>[]; next?: ArchivePosition }> {
    const where = this.where(orgId, filter);
    const keyset = after ? ' AND (occurred_at > CAST(? AS TIMESTAMP) OR (occurred_at = CAST(? AS TIMESTAMP) AND id > ?))' : '';
    const at = after ? after.occurredAt.replace('T', ' ').replace('Z', '') : '';
    const rows = await this.run(
      `SELECT ${COLUMNS} ${where.sql}${keyset} ORDER BY events.occurred_at, events.id LIMIT ${limit}`,
      [...where.params, ...(after ? [at, at, after.id] : [])],
    );
    const events = rows.map(fromArchiveRow);
    const last = events.at(-1);
    return { events, ...(events.length === limit && last ? { next: { occurredAt: last.occurred_at, id: last.id } } : {}) };
  }
}
