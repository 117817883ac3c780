import { fromArchiveRow } from '../../shared/domain/archive.js';
import { EXPORT_COLUMNS, exportWhere, selectWithIsoTimestamps } from '../../shared/domain/exports.js';
import type { ArchivedEvents, ArchivePosition, ReplayFilter } from '../../shared/domain/replays.js';
import { attachArchive, openDuckDb } from './duckdb.js';

/** The archive's columns, timestamps as ISO 8601 UTC text, and the org. */
const COLUMNS = selectWithIsoTimestamps([...EXPORT_COLUMNS, 'org_id'], 'duckdb');

/** The local stand-in for reading archived events back (a replay older than the hot store): DuckDB over the archive. */
export class LocalArchivedEvents implements ArchivedEvents {
  constructor(private readonly archiveDir: string) {}

  /** `signal`: a request's deadline; when it fires DuckDB's query is interrupted, as Athena's is stopped in AWS. */
  private async run(sql: string, params: (string | number)[], signal?: AbortSignal): Promise<Record<string, unknown>[]> {
    signal?.throwIfAborted();
    const connection = await openDuckDb();
    const interrupt = () => connection.interrupt();
    signal?.addEventListener('abort', interrupt, { once: true });
    try {
      await attachArchive(connection, this.archiveDir, { includeBuffered: true });
      return (await connection.runAndReadAll(sql, params)).getRowObjectsJson() as Record<string, unknown>[];
    } catch (error) {
      signal?.throwIfAborted(); // interrupted: the deadline's reason, not DuckDB's "Interrupted!"
      throw error;
    } finally {
      signal?.removeEventListener('abort', interrupt);
      connection.closeSync();
    }
  }

  async count(orgId: string, filter: ReplayFilter, signal?: AbortSignal): Promise<number> {
    const where = exportWhere(orgId, filter);
    return Number((await this.run(`SELECT count(*) AS n ${where.sql}`, where.params, signal))[0]!.n);
  }

  async page(orgId: string, filter: ReplayFilter, after: ArchivePosition | undefined, limit: number): Promise<{ events: ReturnType<typeof fromArchiveRow>[]; next?: ArchivePosition }> {
    const where = exportWhere(orgId, filter, undefined, after);
    const rows = await this.run(`SELECT ${COLUMNS} ${where.sql} ORDER BY events.occurred_at, events.id LIMIT ${limit}`, where.params);
    const events = rows.map(fromArchiveRow);
    const last = events.at(-1);
    return { events, ...(events.length === limit && last ? { next: { occurredAt: last.occurred_at, id: last.id } } : {}) };
  }
}
