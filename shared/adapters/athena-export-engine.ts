import type { AthenaClient } from '@aws-sdk/client-athena';
import { CopyObjectCommand, GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { parse } from 'csv-parse';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { sqlLiteral } from '../definitions/archive.js';
import {
  csvCell, csvField, EXPORT_COLUMNS, JSON_COLUMNS, NUMERIC_COLUMNS, exportWhere, inlineParameters, selectWithIsoTimestamps, type ExportEngine, type ExportJob,
} from '../domain/exports.js';
import { runAthena, type AthenaTarget } from './athena-queries.js';
import { exportKey } from './export-links.js';
import { deleteKeys, listKeys } from './s3-keys.js';

/**
 * An export in AWS, with the services made for it. CSV and JSONL: one Athena SELECT per day, ordered by
 * (occurred_at, id); Athena writes its result as one CSV file (RFC 4180, a header) in the workgroup's result
 * bucket, which is streamed into a part in the export bucket (CSV re-quoted as is, or one JSON object a line with
 * the JSON columns nested as their text: no digit reparsed). `finish` streams the parts, in day order, into the
 * one file (a multipart upload). Parquet: one CREATE TABLE AS over the whole range with a single bucket (one file),
 * copied to the file's key; the scratch table is dropped, its data kept.
 */
export class AthenaExportEngine implements ExportEngine {
  constructor(private readonly athena: AthenaClient, private readonly s3: S3Client, private readonly options: AthenaTarget & { bucket: string }) {}

  private partsPrefix(job: ExportJob): string {
    return `_parts/${job.orgId}/${job.id}/`;
  }

  private where(job: ExportJob, days: { from: string; to: string }): string {
    return inlineParameters(exportWhere(job.orgId, job.filter, days));
  }

  async days(job: ExportJob): Promise<string[]> {
    if (job.format === 'parquet') return ['all'];
    const { rows } = await runAthena(this.athena, this.options, `SELECT DISTINCT dt ${inlineParameters(exportWhere(job.orgId, job.filter))} ORDER BY dt`);
    return rows.map(([dt]) => dt!);
  }

  async writeDay(job: ExportJob, day: string): Promise<{ rows: number }> {
    if (job.format === 'parquet') return this.writeParquet(job);
    const select = selectWithIsoTimestamps(EXPORT_COLUMNS, 'athena');
    const { outputLocation } = await runAthena(this.athena, this.options, `SELECT ${select} ${this.where(job, { from: day, to: day })} ORDER BY occurred_at, id`, { readRows: false });
    const { bucket, key } = s3Location(outputLocation!);
    const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    let rows = 0;
    const lines = new PassThrough();
    const upload = new Upload({ client: this.s3, params: { Bucket: this.options.bucket, Key: `${this.partsPrefix(job)}${day}.${job.format}`, Body: lines } }).done();
    const parser = (Body as Readable).pipe(parse({ from_line: 2, relax_column_count: false }));
    for await (const record of parser as AsyncIterable<string[]>) {
      rows += 1;
      if (!lines.write(job.format === 'csv' ? `${csvLine(record)}\n` : `${jsonLine(record)}\n`)) await once(lines, 'drain');
    }
    lines.end();
    await upload;
    return { rows };
  }

  private async writeParquet(job: ExportJob): Promise<{ rows: number }> {
    const where = inlineParameters(exportWhere(job.orgId, job.filter));
    const [[count]] = (await runAthena(this.athena, this.options, `SELECT count(*) ${where}`)).rows as [[string]];
    const table = `"${this.options.database}"."export_${job.id}"`;
    const prefix = this.partsPrefix(job);
    await runAthena(this.athena, this.options, `DROP TABLE IF EXISTS ${table}`);
    await deleteKeys(this.s3, this.options.bucket, await listKeys(this.s3, this.options.bucket, prefix)); // a rerun's leftovers
    await runAthena(this.athena, this.options,
      `CREATE TABLE ${table} WITH (format = 'PARQUET', write_compression = 'ZSTD', external_location = ${sqlLiteral(`s3://${this.options.bucket}/${prefix}`)}, ` +
        `bucketed_by = ARRAY['id'], bucket_count = 1) AS SELECT ${EXPORT_COLUMNS.join(', ')} ${where}`);
    await runAthena(this.athena, this.options, `DROP TABLE IF EXISTS ${table}`);
    return { rows: Number(count) };
  }

  async holdsLeads(job: ExportJob, leadIds: readonly string[], eventIds: readonly string[] = []): Promise<boolean> {
    if (leadIds.length === 0 && eventIds.length === 0) return false;
    const where = inlineParameters(exportWhere(job.orgId, job.filter));
    const named = [
      ...(leadIds.length > 0 ? [`lead_id IN (${leadIds.map(sqlLiteral).join(', ')})`] : []),
      ...(eventIds.length > 0 ? [`id IN (${eventIds.map(sqlLiteral).join(', ')})`] : []),
    ];
    const { rows } = await runAthena(this.athena, this.options, `SELECT 1 ${where} AND ${named.length === 1 ? named[0] : `(${named.join(' OR ')})`} LIMIT 1`);
    return rows.length > 0;
  }

  /** Deletes the job's parts and its file from the export bucket (a presigned URL of it then answers NoSuchKey). */
  async discard(job: ExportJob): Promise<void> {
    const parts = await listKeys(this.s3, this.options.bucket, this.partsPrefix(job));
    await deleteKeys(this.s3, this.options.bucket, [...parts, exportKey(job)]);
  }

  async finish(job: ExportJob): Promise<{ bytes: number }> {
    const prefix = this.partsPrefix(job);
    const parts = (await listKeys(this.s3, this.options.bucket, prefix)).sort();
    const key = exportKey(job);
    if (job.format === 'parquet') {
      const files = parts.filter((p) => !p.endsWith('/'));
      if (files.length !== 1) throw new Error(`expected one Parquet file under ${prefix}, found ${files.length}`);
      await this.s3.send(new CopyObjectCommand({ Bucket: this.options.bucket, Key: key, CopySource: `${this.options.bucket}/${encodeURIComponent(files[0]!).replace(/%2F/g, '/')}` }));
    } else {
      const body = new PassThrough();
      const upload = new Upload({ client: this.s3, params: { Bucket: this.options.bucket, Key: key, Body: body, ContentType: job.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson' } }).done();
      if (job.format === 'csv') body.write(`${EXPORT_COLUMNS.join(',')}\n`);
      for (const part of parts) {
        const { Body } = await this.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: part }));
        for await (const chunk of Body as Readable) if (!body.write(chunk)) await once(body, 'drain');
      }
      body.end();
      await upload;
    }
    await deleteKeys(this.s3, this.options.bucket, parts);
    const head = await this.s3.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
    return { bytes: head.ContentLength ?? 0 };
  }
}

function s3Location(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new Error(`not an S3 location: ${url}`);
  return { bucket: match[1]!, key: match[2]! };
}

/** One export row as a CSV line: each text cell made safe for spreadsheets (csvCell; number columns exempt), then quoted. */
export function csvLine(record: string[]): string {
  return EXPORT_COLUMNS.map((name, i) => {
    const value = record[i] ?? '';
    return csvField(NUMERIC_COLUMNS.has(name) ? value : csvCell(value));
  }).join(',');
}

/** One export row as a JSON line: JSON columns as their own text (nested, no digit reparsed), numbers as numbers, empty as null. */
export function jsonLine(record: string[]): string {
  const fields = EXPORT_COLUMNS.map((name, i) => {
    const value = record[i] ?? '';
    if (value === '') return `${JSON.stringify(name)}:null`;
    if (JSON_COLUMNS.has(name)) return `${JSON.stringify(name)}:${value}`;
    if (NUMERIC_COLUMNS.has(name) && Number.isFinite(Number(value))) return `${JSON.stringify(name)}:${value}`;
    return `${JSON.stringify(name)}:${JSON.stringify(value)}`;
  });
  return `{${fields.join(',')}}`;
}
