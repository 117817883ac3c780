import type { AthenaClient } from '@aws-sdk/client-athena';
import { sqlLiteral } from '../definitions/archive.js';
import { fromArchiveRow } from '../domain/archive.js';
import { EXPORT_COLUMNS, exportWhere, TIMESTAMP_COLUMNS } from '../domain/exports.js';
import type { LeadEvent } from '../domain/event.js';
import type { ArchivedEvents, ArchivePosition, ReplayFilter } from '../domain/replays.js';
import { toIso } from '../domain/time.js';
import { runAthena, type AthenaTarget } from './athena-queries.js';

const COLUMNS = [...EXPORT_COLUMNS, 'org_id'];
const SELECT = COLUMNS.map((name) => (TIMESTAMP_COLUMNS.has(name) ? `format_datetime(${name}, 'yyyy-MM-dd''T''HH:mm:ss.SSS''Z''') AS ${name}` : name)).join(', ');

/**
 * Archived events read back with Athena, for the part of a replay older than the hot store: one query a page
 * (keyset on (occurred_at, id), reading only the days from the page's start on). Older replays are rare and paced
 * at 100 events/s, so pages of 1,000 keep it to a query every 10 s.
 */
export class AthenaArchivedEvents implements ArchivedEvents {
  constructor(private readonly athena: AthenaClient, private readonly target: AthenaTarget) {}

  private where(orgId: string, filter: ReplayFilter, fromMs = filter.fromMs): string {
    const { sql, params } = exportWhere(orgId, filter, { from: toIso(fromMs).slice(0, 10), to: toIso(filter.toMs - 1).slice(0, 10) });
    let i = 0;
    return sql.replace(/\?/g, () => {
      const value = params[i++]!;
      return typeof value === 'number' ? String(value) : sqlLiteral(value);
    });
  }

  async count(orgId: string, filter: ReplayFilter): Promise<number> {
    return Number((await runAthena(this.athena, this.target, `SELECT count(*) ${this.where(orgId, filter)}`)).rows[0]?.[0] ?? 0);
  }

  async page(orgId: string, filter: ReplayFilter, after: ArchivePosition | undefined, limit: number): Promise<{ events: LeadEvent[]; next?: ArchivePosition }> {
    const at = after ? sqlLiteral(after.occurredAt.replace('T', ' ').replace('Z', '')) : undefined;
    const keyset = after ? ` AND (occurred_at > CAST(${at} AS TIMESTAMP) OR (occurred_at = CAST(${at} AS TIMESTAMP) AND id > ${sqlLiteral(after.id)}))` : '';
    const { rows } = await runAthena(this.athena, this.target,
      `SELECT ${SELECT} ${this.where(orgId, filter, after ? Date.parse(after.occurredAt) : filter.fromMs)}${keyset} ORDER BY occurred_at, id LIMIT ${limit}`);
    const events = rows.map((row) => fromArchiveRow(Object.fromEntries(COLUMNS.map((name, i) => [name, row[i] ?? null]))));
    const last = events.at(-1);
    return { events, ...(events.length === limit && last ? { next: { occurredAt: last.occurred_at, id: last.id } } : {}) };
  }
}
