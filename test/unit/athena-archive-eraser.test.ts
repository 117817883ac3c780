import type { AthenaClient } from '@aws-sdk/client-athena';
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { AthenaArchiveEraser } from '../../shared/adapters/athena-archive-eraser.js';

/**
 * The AWS archive eraser's own logic (which files, which statements, the marker-guarded swap, resuming after a
 * crash) against a stand-in for S3 and Athena. Athena and S3 have no local engine: this stand-in exists to
 * inject the crash, and keeps each "Parquet file" as JSON rows so the test can read what a rewrite kept. The
 * local runtime's eraser (DuckDB over real Parquet) is tested end to end in test/integration/erasure*.test.ts.
 */
type Row = { id: string; lead_id: string; org_id: string; dt: string };
const BUCKET = 'archive-bucket';

function cloud(options: { failDeleteOnce?: boolean } = {}) {
  const objects = new Map<string, string>();
  const statements: string[] = [];
  let failDelete = options.failDeleteOnce ?? false;
  const results = new Map<string, string[][]>();
  const rowsOf = (key: string) => JSON.parse(objects.get(key)!) as Row[];
  const s3 = {
    send: async (command: { constructor: { name: string }; input: any }) => {
      const input = command.input;
      switch (command.constructor.name) {
        case 'ListObjectsV2Command':
          return { Contents: [...objects.keys()].filter((key) => key.startsWith(input.Prefix)).sort().map((Key) => ({ Key })) };
        case 'PutObjectCommand':
          objects.set(input.Key, String(input.Body));
          return {};
        case 'GetObjectCommand':
          return { Body: { transformToString: async () => objects.get(input.Key)! } };
        case 'CopyObjectCommand':
          objects.set(input.Key, objects.get(decodeURIComponent(input.CopySource.slice(BUCKET.length + 1)))!);
          return {};
        case 'DeleteObjectsCommand':
          if (failDelete) {
            failDelete = false;
            throw new Error('the process died here');
          }
          for (const { Key } of input.Delete.Objects) objects.delete(Key);
          return {};
      }
      throw new Error(`unexpected S3 command ${command.constructor.name}`);
    },
  } as unknown as S3Client;
  const athena = {
    send: async (command: { constructor: { name: string }; input: any }) => {
      const input = command.input;
      switch (command.constructor.name) {
        case 'StartQueryExecutionCommand': {
          const sql = input.QueryString as string;
          statements.push(sql);
          const id = `q${statements.length}`;
          const erased = [...sql.matchAll(/lead_id IN \(([^)]*)\)/g)].flatMap((m) => m[1]!.split(', ').map((s) => s.slice(1, -1)));
          const archiveKeys = [...objects.keys()].filter((key) => key.startsWith('events/'));
          if (sql.startsWith('SELECT')) {
            results.set(id, [['file', 'row_count'], ...archiveKeys
              .map((key) => [`s3://${BUCKET}/${key}`, String(rowsOf(key).filter((r) => erased.includes(r.lead_id)).length)])
              .filter(([, n]) => n !== '0')]);
          } else {
            const paths = [...sql.match(/"\$path" IN \(([^)]*)\)/)![1]!.matchAll(/'s3:\/\/[^/]+\/([^']+)'/g)].map((m) => m[1]!);
            const target = sql.match(/TO 's3:\/\/[^/]+\/([^']+)'/)![1]!;
            const kept = paths.flatMap((key) => rowsOf(key)).filter((r) => !erased.includes(r.lead_id));
            for (const dt of new Set(kept.map((r) => r.dt))) {
              objects.set(`${target}org_id=org_a/dt=${dt}/unload-${dt}`, JSON.stringify(kept.filter((r) => r.dt === dt)));
            }
          }
          return { QueryExecutionId: id };
        }
        case 'GetQueryExecutionCommand':
          return { QueryExecution: { Status: { State: 'SUCCEEDED' } } };
        case 'GetQueryResultsCommand':
          return { ResultSet: { Rows: results.get(input.QueryExecutionId)!.map((row) => ({ Data: row.map((VarCharValue) => ({ VarCharValue })) })) } };
      }
      throw new Error(`unexpected Athena command ${command.constructor.name}`);
    },
  } as unknown as AthenaClient;
  const archived = () => [...objects.keys()].filter((key) => key.startsWith('events/')).flatMap((key) => rowsOf(key));
  return { objects, statements, s3, athena, archived };
}

function seed(objects: Map<string, string>) {
  const file = (dt: string, name: string, leads: string[]) =>
    objects.set(`events/org_id=org_a/dt=${dt}/${name}`, JSON.stringify(leads.map((lead_id, i) => ({ id: `${name}-${i}`, lead_id, org_id: 'org_a', dt }))));
  file('2026-01-01', 'f1', ['lead_x', 'lead_z', 'lead_x']);
  file('2026-01-02', 'f2', ['lead_y']);
  file('2026-01-02', 'f3', ['lead_z']);
}

describe('the AWS archive eraser (Athena + S3)', () => {
  it('rewrites exactly the files holding the leads, keeps every other row, and leaves no staging behind', async () => {
    const { objects, statements, s3, athena, archived } = cloud();
    seed(objects);
    const eraser = new AthenaArchiveEraser(athena, s3, { bucket: BUCKET, database: 'db', workGroup: 'wg', pollMs: 1 });
    expect(await eraser.eraseLeads('org_a', ['lead_x', 'lead_y'], 'er_1')).toEqual({ rows: 3, files: 2 });
    expect(archived().map((r) => r.id).sort()).toEqual(['f1-1', 'f3-0']);
    expect(objects.has('events/org_id=org_a/dt=2026-01-02/f3')).toBe(true); // a file without the leads is never touched
    expect([...objects.keys()].filter((key) => key.startsWith('_erasure/'))).toEqual([]);
    expect(statements[0]).toBe(`SELECT "$path" AS file, count(*) AS row_count FROM "events_raw" WHERE org_id = 'org_a' AND lead_id IN ('lead_x', 'lead_y') GROUP BY 1`);
    expect(statements[1]).toMatch(/^UNLOAD \(SELECT id, lead_id, .* FROM "events_raw" WHERE org_id = 'org_a' AND "\$path" IN \(.*\) AND NOT \(lead_id IN \('lead_x', 'lead_y'\)\)\) TO 's3:\/\/archive-bucket\/_erasure\/er_1\/[0-9a-f]{16}\/data\/' WITH \(format = 'PARQUET', compression = 'ZSTD', partitioned_by = ARRAY\['org_id', 'dt'\]\)$/);
    expect(await eraser.eraseLeads('org_a', ['lead_x', 'lead_y'], 'er_1')).toEqual({ rows: 0, files: 0 }); // idempotent
  });

  it('finishes a swap a crash interrupted without reading the half-swapped files again', async () => {
    const { objects, statements, s3, athena, archived } = cloud({ failDeleteOnce: true });
    seed(objects);
    const eraser = new AthenaArchiveEraser(athena, s3, { bucket: BUCKET, database: 'db', workGroup: 'wg', pollMs: 1 });
    await expect(eraser.eraseLeads('org_a', ['lead_x'], 'er_2')).rejects.toThrow('the process died here');
    // Mid-swap: the rewritten file is copied in beside the original, the marker says what is left to do.
    expect([...objects.keys()].some((key) => key.endsWith('/_SWAP'))).toBe(true);
    const unloads = statements.filter((sql) => sql.startsWith('UNLOAD')).length;
    expect(await eraser.eraseLeads('org_a', ['lead_x'], 'er_2')).toEqual({ rows: 2, files: 1 });
    expect(statements.filter((sql) => sql.startsWith('UNLOAD')).length).toBe(unloads); // no second UNLOAD of those files
    expect(archived().map((r) => r.id).sort()).toEqual(['f1-1', 'f2-0', 'f3-0']); // each kept row exactly once
    expect([...objects.keys()].filter((key) => key.startsWith('_erasure/'))).toEqual([]);
  });
});
