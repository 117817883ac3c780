/**
 * Exports and replays at scale (issue #15): 1,000,000 archived events of one org exported as CSV and Parquet by
 * the local engine (DuckDB), with rows/s and the process's peak memory; 100,000 stored events replayed onto the
 * local bus, with events/s (the pace limit off: the measured figure is what the job itself can do; the limit
 * then caps it at REPLAY_EVENTS_PER_SECOND); and Athena's cost per million exported rows from its scan price.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { attachArchive, openDuckDb } from '../../infra/local/duckdb.js';
import { archiveColumns, partitionColumns } from '../../shared/definitions/archive.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { parseExportRequest, runExport, type ExportJob, type ExportJobStore } from '../../shared/domain/exports.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { REPLAY_EVENTS_PER_SECOND, runReplay, type ReplayJob, type ReplayStore } from '../../shared/domain/replays.js';
import { batchWriteAll } from '../../shared/adapters/dynamo-batch.js';
import type { Dependencies } from '../../shared/adapters/container.js';
import type { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { realisticEvent } from './archive-bench.js';
import prices from './aws-prices.json' with { type: 'json' };

/** The job record is not what is measured: an in-memory store stands in for the control table here. */
function memoryStore<T extends { orgId: string; id: string }>() {
  const jobs = new Map<string, T>();
  return { save: async (job: T) => void jobs.set(job.id, structuredClone(job)), get: async (_o: string, id: string) => structuredClone(jobs.get(id)), running: async () => [] };
}

function peakMemory(): { stop: () => number } {
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return { stop: () => (clearInterval(timer), (Math.max(peak, process.memoryUsage().rss) - base) / 1024 ** 2) };
}

export async function exportsBenchmarks(report: (line: string) => void, deps: Dependencies, documents: Parameters<typeof batchWriteAll>[0], orgId: string): Promise<void> {
  // 1. A 1,000,000-row archive of one org: 10,000 realistic events, grown ×100 by DuckDB.
  const seedDir = mkdtempSync(join(tmpdir(), 'leadlog-bench-export-seed-'));
  const archive = new LocalArchive({ dir: seedDir, maxRows: 1e9 });
  await archive.start();
  await archive.putRows(Array.from({ length: 10_000 }, (_, i) => ({ ...toArchiveRow(realisticEvent(i)), org_id: 'org_export' })));
  await archive.stop();
  const dir = mkdtempSync(join(tmpdir(), 'leadlog-bench-export-'));
  const target = Number(process.env.BENCH_EXPORT_EVENTS ?? 1_000_000);
  const db = await openDuckDb();
  await attachArchive(db, seedDir);
  const columns = [...archiveColumns, ...partitionColumns].map((c) => (c.name === 'id' ? `id || '-' || CAST(r.n AS VARCHAR) AS id` : c.name)).join(', ');
  await db.run(`COPY (SELECT ${columns} FROM events, range(${Math.ceil(target / 10_000)}) AS r(n)) TO '${join(dir, 'events')}' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (org_id, dt), FILENAME_PATTERN 'part-{uuid}')`);
  db.closeSync();
  // Athena's scan is priced on the archive's compressed bytes: taken from the 10,000 realistic rows (the grown
  // archive repeats them, which compresses far better than real data would).
  const seedBytes = await (async () => {
    const c = await openDuckDb();
    const r = (await c.runAndReadAll(`SELECT sum(total_compressed_size) AS b FROM parquet_metadata('${join(seedDir, 'events', '**', '*.parquet')}')`)).getRowObjectsJson()[0]!.b;
    c.closeSync();
    return Number(r);
  })();

  report(`\n## Exports of ${target.toLocaleString('en')} archived events of one org (local engine: DuckDB over Parquet, 30 daily partitions)`);
  for (const format of ['csv', 'parquet'] as const) {
    const exportDir = mkdtempSync(join(tmpdir(), 'leadlog-bench-export-out-'));
    const engine = new LocalExporter({ archiveDir: dir, exportDir });
    const store = memoryStore<ExportJob>() as unknown as ExportJobStore;
    const { filter } = parseExportRequest({ format, filter: { from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' } });
    const job: ExportJob = { orgId: 'org_export', id: `ex_bench_${format}`, format, filter, status: 'queued', requestedAt: new Date().toISOString(), settleUntil: new Date(0).toISOString(), daysDone: 0, rows: 0, bytes: 0 };
    await store.save(job);
    const memory = peakMemory();
    const started = performance.now();
    const step = await runExport({ store, engine, nowMs: () => Date.now() }, 'org_export', job.id);
    const seconds = (performance.now() - started) / 1000;
    const done = 'done' in step ? step.done : job;
    report(`${format.padEnd(7)} ${done.rows.toLocaleString('en')} rows in ${seconds.toFixed(1)} s: ${Math.round(done.rows / seconds).toLocaleString('en')} rows/s, file ${(statSync(engine.fileOf(done)).size / 1024 ** 2).toFixed(0)} MB, peak memory +${memory.stop().toFixed(0)} MB (RSS over the start)`);
    rmSync(exportDir, { recursive: true, force: true });
  }
  // Athena reads the org's partitions of the range, all columns: the compressed Parquet bytes, $5 per TB, 10 MB
  // minimum per query (one query per day for CSV/JSONL).
  const perMillion = (seedBytes / 10_000) * 1e6;
  const scanPrice = prices.athenaPerTbScanned;
  const dailyQueries = 30 * Math.max(prices.athenaMinimumBytesPerQuery, perMillion / 30);
  report(`Athena (AWS): ${(perMillion / 1024 ** 2).toFixed(0)} MB of Parquet scanned per million rows ≈ $${((perMillion / 1024 ** 4) * scanPrice).toFixed(4)} per million exported rows (${(dailyQueries / 1024 ** 2).toFixed(0)} MB billed over 30 daily queries ≈ $${((dailyQueries / 1024 ** 4) * scanPrice).toFixed(4)})`);
  rmSync(seedDir, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });

  // 2. A replay of 100,000 stored events onto the local bus.
  const count = Number(process.env.BENCH_REPLAY_EVENTS ?? 100_000);
  const events = deps.events as DynamoEventStore;
  const start = Date.now() - 2 * 3_600_000;
  const items: Record<string, unknown>[] = [];
  for (let i = 0; i < count; i++) {
    const input = validateEventInput({
      lead_id: `lead_${i % 5000}`, source_type: 'direct', source: 'web', event_type: 'product_viewed', external_event_id: `replay_${i}`,
      occurred_at: new Date(start + i * 10).toISOString(), payload: { product_id: `p${i % 50}`, product_name: 'Course', category: 'education' },
    }, { now: Date.now(), requireLeadId: true });
    if (!input.ok) throw new Error('bad bench event');
    items.push({ ...(await events.toItem(buildEvent(input.value, { orgId, now: Date.now() }))) });
  }
  const loadStarted = performance.now();
  await batchWriteAll(documents, deps.config.eventsTableName, items.map((Item) => ({ PutRequest: { Item } })));
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const replays = memoryStore<ReplayJob>() as unknown as ReplayStore;
  const job: ReplayJob = {
    orgId, id: 'rp_bench', filter: { fromMs: start, toMs: Date.now() + 60_000 }, status: 'running', matched: count, emitted: 0, skipped: 0, done: 0, requestedAt: new Date().toISOString(),
  };
  await replays.save(job);
  const bus = new LocalBus({ rules: [] });
  const memory = peakMemory();
  const started = performance.now();
  const outcome = await runReplay({ events: deps.events, replays, bus, maskOptions: deps.maskOptions, nowMs: () => Date.now(), sleep: async () => undefined }, orgId, job.id);
  const seconds = (performance.now() - started) / 1000;
  const done = 'done' in outcome ? outcome.done : job;
  report(`\n## Replay of ${count.toLocaleString('en')} stored events (in-memory DynamoDB Local → the local bus; loaded in ${loadSeconds.toFixed(0)} s)`);
  report(`emitted ${done.emitted.toLocaleString('en')} of ${done.matched.toLocaleString('en')} in ${seconds.toFixed(1)} s: ${Math.round(done.emitted / seconds).toLocaleString('en')} events/s with the pace off, peak memory +${memory.stop().toFixed(0)} MB; the pace caps a replay at ${REPLAY_EVENTS_PER_SECOND}/s (${Math.round(count / REPLAY_EVENTS_PER_SECOND)} s for these)`);
}
