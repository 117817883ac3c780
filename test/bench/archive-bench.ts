/**
 * Archive benchmarks (issue #5): Parquet vs newline JSON size, a named query over 1,000,000 archived
 * events, and partition pruning. All local, DuckDB, same layout as the Firehose archive.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runArchiveSql, runNamedQuery } from '../../infra/local/athena.js';
import { openDuckDb, attachArchive } from '../../infra/local/duckdb.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { archiveColumns, partitionColumns } from '../../shared/definitions/archive.js';
import type { LeadEvent } from '../../shared/domain/event.js';

/** The Parquet files under a folder (recursively): their count and bytes. */
export function folderBytes(dir: string): { bytes: number; files: number } {
  let bytes = 0;
  let files = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      const inner = folderBytes(path);
      bytes += inner.bytes;
      files += inner.files;
    } else if (entry.name.endsWith('.parquet')) {
      bytes += statSync(path).size;
      files++;
    }
  }
  return { bytes, files };
}

const TYPES = ['source.submitted', 'source.accepted', 'source.rejected', 'enhancement.success', 'filter.passed', 'recipient.delivered', 'recipient.failed', 'flow.completed'];
const REASONS = ['Invalid phone format: expected 10 digits, got 9', 'Duplicate: previously submitted', 'Outside service area', 'Daily cap reached (100/100)'];

let seed = 7;
/** Seeded pseudo-random numbers (mulberry32): values vary like real leads' do, yet every run is the same. */
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}
const WORDS = 'lead asked about financing price course installments evening contact consent captured form whatsapp call back tomorrow discount interested budget family partner approval weekend follow up quote details shipping'.split(' ');
const randomHex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
const sentence = (words: number) => Array.from({ length: words }, () => WORDS[Math.floor(rand() * WORDS.length)]).join(' ');

/** A realistic ~2 KB lead-processing event: ids, outcome, timing, a lead snapshot with appended data. */
export function realisticEvent(i: number): LeadEvent {
  const type = TYPES[Math.floor(rand() * TYPES.length)]!;
  const failed = type.endsWith('rejected') || type.endsWith('failed');
  const at = new Date(Date.UTC(2026, 10, 1) + Math.floor(rand() * 30) * 86_400_000 + Math.floor(rand() * 86_400_000)).toISOString();
  return {
    id: `${randomHex(8)}-${randomHex(4)}-7${randomHex(3)}-8${randomHex(3)}-${randomHex(12)}`, org_id: `org_${Math.floor(rand() * 10)}`,
    lead_id: `lead_${randomHex(16)}`, source_type: 'internal', source: ['web_a', 'web_b', 'partner_c'][i % 3]!, event_type: type,
    outcome: failed ? 'failure' : 'success', ...(failed ? { reason: REASONS[i % REASONS.length]! } : {}),
    flow_id: `flow_${i % 5}`, step_id: `step_${i % 8}`, entity_id: `buyer_${i % 4}`,
    timing: { duration_ms: Math.floor(rand() * 3000), start_timestamp: Date.parse(at), end_timestamp: Date.parse(at) + Math.floor(rand() * 3000) },
    payload: { integration: 'custom_json', http_status: 200, price: Math.round(rand() * 5000) / 100, cost: Math.round(rand() * 100) / 1000, buyer_response: { status: failed ? 'rejected' : 'accepted', id: `buyer-lead-${randomHex(10)}` } },
    lead_snapshot: {
      first_name: ['John', 'Ana', 'Li', 'Maria', 'Pedro', 'Chen'][Math.floor(rand() * 6)], last_name: ['Smith', 'Silva', 'Wong', 'Garcia'][Math.floor(rand() * 4)],
      email: `${randomHex(8)}@example.com`, phone: `+1${String(Math.floor(2e9 + rand() * 7e9))}`,
      state: ['CA', 'TX', 'NY', 'SP', 'FL'][Math.floor(rand() * 5)], 'email.valid': rand() < 0.9, 'phone.valid': rand() < 0.8, 'appended.phone_score': Math.floor(rand() * 100),
      address: `${Math.floor(rand() * 9999)} ${sentence(2)} street`, utm_source: ['google', 'facebook', 'instagram'][Math.floor(rand() * 3)], utm_campaign: `campaign_${Math.floor(rand() * 200)}`,
      ip: `${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}.${Math.floor(rand() * 255)}`,
      notes: sentence(125),
    },
    appended: { 'phone_check.carrier': ['Verizon', 'AT&T', 'T-Mobile'][Math.floor(rand() * 3)], 'phone_check.line_type': 'mobile', trustedform_cert: `https://cert.trustedform.com/${randomHex(40)}` },
    occurred_at: at, received_at: at, expires_at: at, schema_version: '1',
  } as LeadEvent;
}

export async function archiveBenchmarks(report: (line: string) => void): Promise<void> {
  // 1. Size: 100,000 events as newline JSON (what Firehose receives) vs the Parquet archive.
  const dir = mkdtempSync(join(tmpdir(), 'leadlog-bench-archive-'));
  const count = Number(process.env.BENCH_ARCHIVE_EVENTS ?? 100_000);
  const archive = new LocalArchive({ dir, maxRows: 1e9 });
  await archive.start();
  let jsonBytes = 0;
  const lines: string[] = [];
  let eventBytes = 0;
  for (let i = 0; i < count; i++) {
    const e = realisticEvent(i);
    eventBytes += Buffer.byteLength(JSON.stringify(e));
    const row = toArchiveRow(e);
    const line = `${JSON.stringify(row)}\n`;
    jsonBytes += Buffer.byteLength(line);
    lines.push(line);
    if (lines.length === 10_000) await archive.putRows(lines.splice(0).map((l) => JSON.parse(l)));
  }
  if (lines.length > 0) await archive.putRows(lines.splice(0).map((l) => JSON.parse(l)));
  const flushStarted = performance.now();
  await archive.stop();
  const flushMs = performance.now() - flushStarted;
  const parquet = folderBytes(join(dir, 'events'));
  report(`\n## Archive size, ${count.toLocaleString('en')} events (avg ${(eventBytes / count / 1024).toFixed(2)} KB as API JSON)`);
  report(`newline JSON (Firehose input): ${(jsonBytes / 1024 ** 2).toFixed(1)} MB`);
  report(`Parquet (zstd, org_id/dt partitions, ${parquet.files} files): ${(parquet.bytes / 1024 ** 2).toFixed(1)} MB, written in ${(flushMs / 1000).toFixed(1)} s`);
  report(`ratio: ${(parquet.bytes / jsonBytes).toFixed(3)} (target <= 0.2)`);

  // 2. A named query over 1,000,000 archived events: the archive is grown with DuckDB from the rows above.
  const big = mkdtempSync(join(tmpdir(), 'leadlog-bench-million-'));
  const multiplier = Math.ceil((Number(process.env.BENCH_QUERY_EVENTS ?? 1_000_000)) / count);
  const db = await openDuckDb();
  await attachArchive(db, dir);
  const columns = [...archiveColumns, ...partitionColumns].map((c) => (c.name === 'id' ? `id || '-' || CAST(r.n AS VARCHAR) AS id` : c.name)).join(', ');
  await db.run(`COPY (SELECT ${columns} FROM events, range(${multiplier}) AS r(n))
    TO '${join(big, 'events')}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (org_id, dt), FILENAME_PATTERN 'part-{uuid}')`);
  db.closeSync();
  const total = await runArchiveSql(big, 'SELECT count(*) AS n FROM events');
  const times: number[] = [];
  let rows = 0;
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    rows = (await runNamedQuery(big, 'rejection_reasons', 'org_3', '2026-11-01', '2026-11-30')).rows.length;
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  report(`\n## Named query over ${Number(total.rows[0]!.n).toLocaleString('en')} archived events (rejection_reasons, one org, 30 days; DuckDB, 5 runs)`);
  report(`median ${times[2]!.toFixed(0)} ms, best ${times[0]!.toFixed(0)} ms (${rows} rows)`);

  // 3. Partition pruning: files and bytes a one-day, one-org query reads vs an unfiltered scan.
  const all = folderBytes(join(big, 'events'));
  const oneDayDir = join(big, 'events', 'org_id=org_3', 'dt=2026-11-15');
  const oneDay = existsSync(oneDayDir) ? folderBytes(oneDayDir) : { bytes: 0, files: 0 };
  const explain = async (where: string) => {
    const connection = await openDuckDb();
    await attachArchive(connection, big);
    const plan = (await connection.runAndReadAll(`EXPLAIN ANALYZE SELECT count(*), avg(duration_ms) FROM events ${where}`)).getRows().map((r) => String(r[1])).join('\n');
    connection.closeSync();
    return Number(/Total Files Read:\s*(\d+)/.exec(plan)?.[1] ?? NaN);
  };
  const filesFiltered = await explain("WHERE org_id = 'org_3' AND dt = '2026-11-15'");
  const filesAll = await explain('');
  report(`\n## Partition pruning (one org, one day vs everything)`);
  report(`files read: ${filesFiltered} vs ${filesAll} (DuckDB EXPLAIN ANALYZE); bytes in those partitions: ${(oneDay.bytes / 1024).toFixed(0)} KB vs ${(all.bytes / 1024 ** 2).toFixed(1)} MB`);
  report(`pruning ratio: ${(oneDay.bytes / all.bytes).toFixed(4)} of the bytes, ${(filesFiltered / filesAll).toFixed(4)} of the files`);
  rmSync(dir, { recursive: true, force: true });
  rmSync(big, { recursive: true, force: true });
}
