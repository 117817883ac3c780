/**
 * Archive partitions at 10,000 orgs (issue #22 point 4): the layouts weighed in docs/decisions.md, by the plan's own
 * functions (shared/definitions/archive.ts) and by DuckDB over generated Parquet.
 *  (a) org_id=/dt= on one stream; (b) org_bucket=NN/dt= on one stream; (c) org_id=/dt= over K streams (chosen).
 * Measured: active partitions per stream with the real org → stream hash, objects (S3 PUTs) a day, and the files and
 * bytes a one-org, one-day query must read in each layout (DuckDB EXPLAIN ANALYZE over 10,000 orgs' Parquet).
 * Standalone: `npx tsx test/bench/archive-partitions-bench.ts` (BENCH_PARTITION_ROWS_PER_ORG=20).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { openDuckDb } from '../../infra/local/duckdb.js';
import {
  ARCHIVE_ACTIVE_DAYS, ARCHIVE_HEADROOM, ARCHIVE_STREAMS, FIREHOSE_ACTIVE_PARTITIONS_DEFAULT, FIREHOSE_ACTIVE_PARTITIONS_MAX, archiveColumns,
  archiveStreamOf, archiveStreamsFor, sqlLiteral,
} from '../../shared/definitions/archive.js';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { folderBytes, realisticEvent } from './archive-bench.js';

const ORGS = 10_000;
/** Firehose's buffer interval (infra/constructs/analytics.ts): a partition below 128 MB is delivered every 900 s. */
const FLUSHES_PER_DAY = 86_400 / 900;
/** us-east-1 list prices: Firehose dynamic partitioning per 1,000 objects delivered, S3 PUT per 1,000 requests. */
const DYNAMIC_PARTITIONING_PER_1000_OBJECTS = 0.005;
const S3_PUT_PER_1000 = 0.005;
const ATHENA_PER_TB = 5;
const WORKGROUP_CUTOFF_BYTES = 10 * 1024 ** 3;


export async function archivePartitionsBenchmark(report: (line: string) => void): Promise<void> {
  const orgs = Array.from({ length: ORGS }, (_, i) => `org_${String(i).padStart(5, '0')}`);
  const halfDefault = FIREHOSE_ACTIVE_PARTITIONS_DEFAULT * ARCHIVE_HEADROOM;
  const halfRaised = FIREHOSE_ACTIVE_PARTITIONS_MAX * ARCHIVE_HEADROOM;
  const buckets = Math.floor(halfDefault / ARCHIVE_ACTIVE_DAYS);
  const perStream = new Array<number>(ARCHIVE_STREAMS).fill(0);
  for (const org of orgs) perStream[archiveStreamOf(org, '', ARCHIVE_STREAMS)]!++;
  const fullest = Math.max(...perStream) * ARCHIVE_ACTIVE_DAYS;

  report(`\n## Archive partitions at ${ORGS.toLocaleString('en')} orgs, 1 event/s each (${ARCHIVE_ACTIVE_DAYS} days open around midnight; quota 500, 5,000 on request)`);
  report(`(a) org_id/dt, 1 stream:            ${(ORGS * ARCHIVE_ACTIVE_DAYS).toLocaleString('en')} active partitions (${((ORGS * ARCHIVE_ACTIVE_DAYS) / FIREHOSE_ACTIVE_PARTITIONS_MAX).toFixed(1)}x the raised quota): fails`);
  report(`(b) org_bucket/dt, ${buckets} buckets, 1 stream: ${buckets * ARCHIVE_ACTIVE_DAYS} active partitions (half the default quota)`);
  report(`(c) org_id/dt over ${ARCHIVE_STREAMS} streams: fullest stream ${fullest.toLocaleString('en')} active partitions by the real hash (limit ${halfRaised.toLocaleString('en')}, half the raised quota); streams without the increase: ${archiveStreamsFor(ORGS, 1, { partitionQuota: FIREHOSE_ACTIVE_PARTITIONS_DEFAULT })}`);

  // Objects a day: each active partition is delivered at least every 900 s (none reaches 128 MB at 1 event/s).
  const objects = { a: ORGS * FLUSHES_PER_DAY, b: buckets * FLUSHES_PER_DAY };
  const dollars = (count: number) => (count / 1000) * (DYNAMIC_PARTITIONING_PER_1000_OBJECTS + S3_PUT_PER_1000);
  const eventsPerDay = ORGS * 86_400;
  report(`objects a day, (a)/(c): ${objects.a.toLocaleString('en')} ($${dollars(objects.a).toFixed(2)} a day in Firehose objects + S3 PUTs, $${((dollars(objects.a) / eventsPerDay) * 1e6).toFixed(4)} per million events)`);
  report(`objects a day, (b):     ${objects.b.toLocaleString('en')} ($${dollars(objects.b).toFixed(2)} a day, $${((dollars(objects.b) / eventsPerDay) * 1e6).toFixed(4)} per million events)`);

  // One day of 10,000 orgs as Parquet in both layouts, each partition in FLUSHES files (Firehose delivers per flush).
  const rowsPerOrg = Number(process.env.BENCH_PARTITION_ROWS_PER_ORG ?? 20);
  const flushes = 4;
  const dir = mkdtempSync(join(tmpdir(), 'leadlog-bench-partitions-'));
  const db = await openDuckDb();
  const templates = Array.from({ length: 2_000 }, (_, i) => toArchiveRow(realisticEvent(i)));
  const columns = archiveColumns.map((c) => c.name);
  writeFileSync(join(dir, 'template.jsonl'), templates.map((row) => JSON.stringify(row)).join('\n'));
  await db.run(`CREATE TABLE template AS SELECT row_number() OVER () - 1 AS n, * FROM read_json_auto(${sqlLiteral(join(dir, 'template.jsonl'))})`);
  const started = performance.now();
  const select = (flush: number) => `SELECT ${columns.map((c) => (c === 'id' ? `t.id || '-' || o.n || '-' || r.k AS id` : `t.${c}`)).join(', ')},
      'org_' || lpad(CAST(o.n AS VARCHAR), 5, '0') AS org_id, '2026-11-15' AS dt, lpad(CAST(hash('org_' || lpad(CAST(o.n AS VARCHAR), 5, '0')) % ${buckets} AS VARCHAR), 3, '0') AS org_bucket
    FROM range(${ORGS}) AS o(n), range(${flush * (rowsPerOrg / flushes)}, ${(flush + 1) * (rowsPerOrg / flushes)}) AS r(k), template AS t
    WHERE t.n = (o.n * ${rowsPerOrg} + r.k) % ${templates.length}`;
  for (let flush = 0; flush < flushes; flush++) {
    await db.run(`COPY (${select(flush)}) TO ${sqlLiteral(join(dir, 'c'))} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (org_id, dt), FILENAME_PATTERN 'flush${flush}-{i}', OVERWRITE_OR_IGNORE)`);
    await db.run(`COPY (SELECT * EXCLUDE (org_bucket), org_bucket FROM (${select(flush)})) TO ${sqlLiteral(join(dir, 'b'))} (FORMAT parquet, COMPRESSION snappy, PARTITION_BY (org_bucket, dt), FILENAME_PATTERN 'flush${flush}-{i}', OVERWRITE_OR_IGNORE)`);
  }
  const org = 'org_04242';
  const bucket = String(Number((await db.runAndReadAll(`SELECT hash(${sqlLiteral(org)}) % ${buckets} AS b`)).getRowObjects()[0]!.b)).padStart(3, '0');
  const layouts = {
    c: { hive: "{'org_id': VARCHAR, 'dt': VARCHAR}", glob: join(dir, 'c', '**', '*.parquet'), where: `org_id = ${sqlLiteral(org)} AND dt = '2026-11-15'`, partition: join(dir, 'c', `org_id=${org}`, 'dt=2026-11-15') },
    b: { hive: "{'org_bucket': VARCHAR, 'dt': VARCHAR}", glob: join(dir, 'b', '**', '*.parquet'), where: `org_bucket = '${bucket}' AND dt = '2026-11-15' AND org_id = ${sqlLiteral(org)}`, partition: join(dir, 'b', `org_bucket=${bucket}`, 'dt=2026-11-15') },
  };
  const measured: Record<string, { files: number; bytes: number; ms: number; count: number }> = {};
  for (const [name, layout] of Object.entries(layouts)) {
    const from = `read_parquet(${sqlLiteral(layout.glob)}, hive_partitioning = true, hive_types = ${layout.hive}, union_by_name = true)`;
    const sql = `SELECT count(*) AS n, avg(duration_ms) AS d FROM ${from} WHERE ${layout.where}`;
    const plan = (await db.runAndReadAll(`EXPLAIN ANALYZE ${sql}`)).getRows().map((r) => String(r[1])).join('\n');
    const times: number[] = [];
    let count = 0;
    for (let run = 0; run < 5; run++) {
      const t0 = performance.now();
      count = Number((await db.runAndReadAll(sql)).getRowObjects()[0]!.n);
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    measured[name] = { files: Number(/Total Files Read:\s*(\d+)/.exec(plan)?.[1] ?? NaN), bytes: folderBytes(layout.partition).bytes, ms: times[2]!, count };
  }
  const totalC = folderBytes(join(dir, 'c'));
  const totalB = folderBytes(join(dir, 'b'));
  const rows = ORGS * rowsPerOrg;
  report(`\n## One-org, one-day query over ${ORGS.toLocaleString('en')} orgs' Parquet (${rows.toLocaleString('en')} rows, ${flushes} flushes a partition; DuckDB, 5 runs; written in ${((performance.now() - started) / 1000).toFixed(0)} s)`);
  report(`(c) org_id/dt:     ${measured.c!.files} files, ${(measured.c!.bytes / 1024).toFixed(0)} KB in the partition, median ${measured.c!.ms.toFixed(1)} ms, ${measured.c!.count} rows (${totalC.files.toLocaleString('en')} files in all)`);
  report(`(b) org_bucket/dt: ${measured.b!.files} files, ${(measured.b!.bytes / 1024).toFixed(0)} KB in the partition, median ${measured.b!.ms.toFixed(1)} ms, ${measured.b!.count} rows (${totalB.files.toLocaleString('en')} files in all)`);
  const ratio = measured.b!.bytes / measured.c!.bytes;
  const orgsInBucket = Number((await db.runAndReadAll(`SELECT count(*) AS n FROM range(${ORGS}) AS o(n) WHERE hash('org_' || lpad(CAST(o.n AS VARCHAR), 5, '0')) % ${buckets} = ${Number(bucket)}`)).getRowObjects()[0]!.n);
  report(`bytes a one-org query reads, (b) / (c): ${ratio.toFixed(0)}x here (${rowsPerOrg / flushes} rows a file: Parquet footers weigh); ${orgsInBucket}x (the orgs of its bucket) once files hold real days`);
  // At 1 event/s an org's day is 86,400 rows: scale the bytes per row of (b)'s larger files to it, and to 30 days.
  const orgMonth = (totalB.bytes / rows) * 86_400 * 30;
  const line = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GB ($${((bytes / 1024 ** 4) * ATHENA_PER_TB).toFixed(3)} in Athena)`;
  report(`a 30-day named query of one org at 1 event/s: (c) ${line(orgMonth)}, (b) ${line(orgMonth * orgsInBucket)}${orgMonth * orgsInBucket > WORKGROUP_CUTOFF_BYTES ? ": over the workgroup's 10 GB cutoff per query, refused" : ''}`);
  report(`locally DuckDB globs every file of the archive: ${totalC.files.toLocaleString('en')} small files cost (c) ${measured.c!.ms.toFixed(0)} ms a query vs ${measured.b!.ms.toFixed(0)} ms for ${totalB.files} (Athena's partition projection lists no files)`);
  db.closeSync();
  rmSync(dir, { recursive: true, force: true });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await archivePartitionsBenchmark((line) => console.log(line));
  process.exit(0);
}
