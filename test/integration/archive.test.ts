import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { runArchiveSql } from '../../infra/local/athena.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

function runtime(dir: string, checkpoint: string | undefined) {
  const archive = new LocalArchive({ dir, maxRows: 40 });
  const poller = new StreamPoller({
    endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!,
    handler: createFanoutHandler({ bus: new LocalBus(), archive }), ...(checkpoint ? { checkpointFile: checkpoint } : {}),
  });
  return { archive, poller };
}

describe('the archive', () => {
  it('holds every inserted event exactly once, through restarts and a full replay of the stream', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-archive-'));
    const checkpoint = join(dir, 'checkpoint.json');
    const { orgId, key } = await api.newOrg();
    const post = (n: number, from: number) =>
      api.request('POST', '/v1/events/batch', {
        key,
        body: { events: Array.from({ length: n }, (_, i) => sampleEvent({ lead_id: `l${from + i}`, lead_snapshot: { email: 'ana@example.com' }, payload: { product_id: 'p', product_name: 'n', category: 'c', price: 1 } })) },
      });

    await post(60, 0);
    const first = runtime(dir, checkpoint);
    await first.archive.start();
    await first.poller.drain();
    await first.archive.stop();

    await post(30, 60);
    const second = runtime(dir, checkpoint); // a restart: resumes from the saved position
    await second.archive.start();
    await second.poller.drain();
    await second.archive.stop();

    const replay = runtime(dir, undefined); // no checkpoint: the whole stream again
    await replay.archive.start();
    await replay.poller.drain();
    await replay.archive.stop();

    const { rows } = await runArchiveSql(dir, 'SELECT count(*) AS n, count(DISTINCT id) AS ids, min(dt) AS dt FROM events WHERE org_id = ?', [orgId]);
    expect(rows[0]).toMatchObject({ n: '90', ids: '90' });
    const masked = await runArchiveSql(dir, 'SELECT lead_snapshot, price FROM events WHERE org_id = ? LIMIT 1', [orgId]);
    expect(masked.rows[0]).toMatchObject({ lead_snapshot: '{"email":"a***@example.com"}', price: 1 });
  });

  it('keeps rows acknowledged before a crash (buffer not yet flushed) and flushes them on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-archive-crash-'));
    const crashed = new LocalArchive({ dir, maxRows: 1_000 });
    await crashed.start();
    const row = { id: '00000000-0000-0000-0000-00000000000a', org_id: 'org_crash', dt: '2026-11-23', occurred_at: '2026-11-23T10:00:00.000Z', received_at: '2026-11-23T10:00:01.000Z', lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'custom.x' };
    await crashed.putRows([row]); // acknowledged; then the process dies without stop()
    const next = new LocalArchive({ dir });
    await next.start();
    await next.stop();
    const { rows } = await runArchiveSql(dir, "SELECT id FROM events WHERE org_id = 'org_crash'");
    expect(rows).toEqual([{ id: row.id }]);
  });

  it('shows rows accepted but not yet flushed to `npm run athena` (includeBuffered), once each', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-archive-buffered-'));
    const archive = new LocalArchive({ dir, maxRows: 1_000, maxAgeMs: 3_600_000 });
    await archive.start();
    const row = (n: number) => ({ id: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`, org_id: 'org_buf', dt: '2026-11-23', occurred_at: '2026-11-23T10:00:00.000Z', received_at: '2026-11-23T10:00:01.000Z', lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'custom.x' });
    await archive.putRows([row(1), row(2)]);
    await archive.flush();
    await archive.putRows([row(2), row(3)]); // 2 again (a replay) and 3, both still in the buffer
    const sql = "SELECT count(*) AS n FROM events WHERE org_id = 'org_buf'";
    expect((await runArchiveSql(dir, sql)).rows).toEqual([{ n: '2' }]);
    expect((await runArchiveSql(dir, sql, [], { includeBuffered: true })).rows).toEqual([{ n: '3' }]);
    await archive.stop();
    expect((await runArchiveSql(dir, sql)).rows).toEqual([{ n: '3' }]);
  });
});
