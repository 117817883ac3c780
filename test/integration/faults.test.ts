import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createIngestHandler } from '../../functions/ingest.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { FileBlobStore } from '../../shared/adapters/blob-stores.js';
import { createDependencies } from '../../shared/adapters/container.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { runArchiveSql } from '../../infra/local/athena.js';
import type { Archive, ArchiveRow } from '../../shared/domain/ports.js';
import type { LambdaHttpHandler } from '../../infra/local/http-server.js';
import { sampleEvent, startTestApi, type TestApi } from '../support/api.js';
import { captureLogs } from '../support/logs.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Fault injection at the SDK's own middleware stack: the adapter and its error translation run for real. */
type Fault = 'none' | 'throttle-before-write' | 'timeout-after-write' | 'internal-error';
let fault: Fault = 'none';
function faultyError(name: string, status: number) {
  return Object.assign(new Error(`${name} (injected)`), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

let api: TestApi;
let client: ReturnType<typeof createDocumentClient>;
beforeAll(async () => {
  client = createDocumentClient({ endpoint: inject('dynamoEndpoint') });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!/^Put(Item)?Command$/.test(context.commandName ?? '') || fault === 'none') return next(args);
      if (fault === 'throttle-before-write') throw faultyError('ProvisionedThroughputExceededException', 400);
      if (fault === 'internal-error') throw faultyError('InternalServerError', 500);
      const result = await next(args); // the write happens, the answer is lost
      void result;
      throw faultyError('TimeoutError', 0);
    },
    { step: 'initialize', name: 'faultInjection' },
  );
  const deps = createDependencies();
  const events = new DynamoEventStore(client, deps.config.eventsTableName, new FileBlobStore(deps.config.blobDir!));
  api = await startTestApi({ handlers: { ingest: createIngestHandler({ ...deps, events }) as unknown as LambdaHttpHandler } as never });
});
afterAll(() => api.close());

describe('DynamoDB faults on the write path', () => {
  it.each(['throttle-before-write', 'internal-error', 'timeout-after-write'] as const)('%s: a 503 with Retry-After, then a retry stores exactly one event', async (mode) => {
    const { key } = await api.newOrg();
    const lead = `lead_fault_${mode}_${Date.now()}`;
    const body = sampleEvent({ lead_id: lead, external_event_id: `evt_${mode}_${Date.now()}` });
    fault = mode;
    const failed = await api.request('POST', '/v1/events', { key, body });
    fault = 'none';
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('1');
    expect(failed.headers.get('content-type')).toContain('application/problem+json');
    expect(failed.body.type).toContain('service-unavailable');
    const retried = await api.request('POST', '/v1/events', { key, body });
    expect(retried.status).toBe(mode === 'timeout-after-write' ? 200 : 201);
    const timeline = await api.request('GET', `/v1/leads/${lead}/events`, { key });
    expect(timeline.body.items).toHaveLength(1);
  });

  it('logs an expected 503 as one structured line, never a stack trace', async () => {
    const logs = captureLogs(); // Powertools at DEBUG for the handler made below
    try {
      const deps = createDependencies();
      const events = new DynamoEventStore(client, deps.config.eventsTableName, new FileBlobStore(deps.config.blobDir!));
      const local = await startTestApi({ handlers: { ingest: createIngestHandler({ ...deps, events }) as unknown as LambdaHttpHandler } as never });
      const { key } = await local.newOrg();
      fault = 'throttle-before-write';
      const failed = await local.request('POST', '/v1/events', { key, body: sampleEvent({ external_event_id: `evt_log_${Date.now()}` }) });
      fault = 'none';
      await local.close();
      expect(failed.status).toBe(503);
      const lines = logs.lines.join('').split('\n').filter((line) => line.includes('dependency unavailable'));
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'WARN', status: 503, cause: 'ProvisionedThroughputExceededException' });
      expect(logs.lines.join('')).not.toMatch(/"stack"|\n\s+at /);
    } finally {
      fault = 'none';
      logs.restore();
    }
  });

  it('a batch meeting a fault answers 503; its retry stores each item once', async () => {
    const { key } = await api.newOrg();
    const lead = `lead_fault_batch_${Date.now()}`;
    const events = Array.from({ length: 5 }, (_, i) => sampleEvent({ lead_id: lead, external_event_id: `evt_b_${lead}_${i}` }));
    fault = 'timeout-after-write';
    expect((await api.request('POST', '/v1/events/batch', { key, body: { events } })).status).toBe(503);
    fault = 'none';
    const retried = await api.request('POST', '/v1/events/batch', { key, body: { events } });
    expect(retried.body.results.every((r: { status: string }) => r.status === 'created' || r.status === 'duplicate')).toBe(true);
    expect((await api.request('GET', `/v1/leads/${lead}/events`, { key })).body.items).toHaveLength(5);
  });
});

describe('bus and archive faults in the fan-out', () => {
  it('retries partial failures and never loses or duplicates an archive row', async () => {
    const { orgId, key } = await api.newOrg();
    await api.request('POST', '/v1/events/batch', { key, body: { events: Array.from({ length: 30 }, (_, i) => sampleEvent({ lead_id: `l${i}` })) } });
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-fault-archive-'));
    const archive = new LocalArchive({ dir });
    await archive.start();
    let calls = 0;
    const flaky: Archive = {
      // Every other call refuses some of this org's rows, or fails outright: the fan-out must retry them.
      async putRows(rows: ArchiveRow[]) {
        calls++;
        if (calls % 3 === 0) throw new Error('Firehose unavailable (injected)');
        const refused = calls % 3 === 1 ? rows.flatMap((r, i) => (r.org_id === orgId && i % 2 === 0 ? [i] : [])) : [];
        await archive.putRows(rows.filter((_, i) => !refused.includes(i)));
        return refused;
      },
    };
    const poller = new StreamPoller({ endpoint: inject('dynamoEndpoint'), tableName: inject('tableNames').events!, handler: createFanoutHandler({ bus: new LocalBus(), archive: flaky }) });
    for (let pass = 0; pass < 20; pass++) await poller.pollOnce(); // failed records are re-read on later passes
    await poller.drain();
    await archive.stop();
    const { rows } = await runArchiveSql(dir, 'SELECT count(*) AS n, count(DISTINCT id) AS ids FROM events WHERE org_id = ?', [orgId]);
    expect(rows[0]).toEqual({ n: '30', ids: '30' });
  });
});
