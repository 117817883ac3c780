import type { AthenaClient } from '@aws-sdk/client-athena';
import { fromArchiveRow } from '../domain/archive.js';
import { dayRange, EXPORT_COLUMNS, exportWhere, inlineParameters, selectWithIsoTimestamps } from '../domain/exports.js';
import type { LeadEvent } from '../domain/event.js';
import type { ArchivedEvents, ArchivePosition, ReplayFilter } from '../domain/replays.js';
import { runAthena, type AthenaTarget } from './athena-queries.js';

const COLUMNS = [...EXPORT_COLUMNS, 'org_id'];
const SELECT = selectWithIsoTimestamps(COLUMNS, 'athena');

/**
 * Archived events read back with Athena, for the part of a replay older than the hot store: one query a page
 * (keyset on (occurred_at, id), reading only the days from the page's start on). Older replays are rare and paced
 * at 100 events/s, so pages of 1,000 keep it to a query every 10 s.
 */
export class AthenaArchivedEvents implements ArchivedEvents {
  constructor(private readonly athena: AthenaClient, private readonly target: AthenaTarget) {}

  async count(orgId: string, filter: ReplayFilter, signal?: AbortSignal): Promise<number> {
    return Number((await runAthena(this.athena, this.target, `SELECT count(*) ${inlineParameters(exportWhere(orgId, filter))}`, { signal })).rows[0]?.[0] ?? 0);
  }

  async page(orgId: string, filter: ReplayFilter, after: ArchivePosition | undefined, limit: number): Promise<{ events: LeadEvent[]; next?: ArchivePosition }> {
    // Reading the days from the page's start on: partitions before it are pruned.
    const where = exportWhere(orgId, filter, dayRange(after ? Date.parse(after.occurredAt) : filter.fromMs, filter.toMs), after);
    const { rows } = await runAthena(this.athena, this.target, `SELECT ${SELECT} ${inlineParameters(where)} ORDER BY occurred_at, id LIMIT ${limit}`);
    const events = rows.map((row) => fromArchiveRow(Object.fromEntries(COLUMNS.map((name, i) => [name, row[i] ?? null]))));
    const last = events.at(-1);
    return { events, ...(events.length === limit && last ? { next: { occurredAt: last.occurred_at, id: last.id } } : {}) };
  }
}
