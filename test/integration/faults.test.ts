import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createIngestHandler } from '../../functions/ingest.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { FileBlobStore } from '../../shared/adapters/blob-stores.js';
import { createDependencies } from '../../shared/adapters/container.js';
import { createDocumentClient, translateAwsError } from '../../shared/adapters/aws-clients.js';
import { DynamoEventStore } from '../../shared/adapters/dynamo-event-store.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import { runArchiveSql } from '../../infra/local/athena.js';
import type { Archive, ArchiveRow, EventStore } from '../../shared/domain/ports.js';
import type { BuiltEvent } from '../../shared/domain/event.js';
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
  const events = new DynamoEventStore(client, deps.config.eventsTableName, new FileBlobStore(deps.config.blobDir!), deps.shardPlans);
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
      const events = new DynamoEventStore(client, deps.config.eventsTableName, new FileBlobStore(deps.config.blobDir!), deps.shardPlans);
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

  it.each(['internal-error', 'timeout-after-write'] as const)(
    "%s on the 3rd item of a batch: that item's result is error (503 problem), the others' stand, the answer tells exactly what was stored, and a retry completes it",
    async (mode) => {
      // Fault injection only: the real store and the real SDK error translation, failing the 3rd item's write.
      const deps = createDependencies();
      const real = new DynamoEventStore(client, deps.config.eventsTableName, new FileBlobStore(deps.config.blobDir!), deps.shardPlans);
      const third = (b: BuiltEvent) => b.event.external_event_id?.endsWith('_2') === true;
      const events: EventStore = Object.assign(Object.create(real) as EventStore, {
        async put(b: BuiltEvent, nowMs: number) {
          if (!third(b)) return real.put(b, nowMs);
          if (mode === 'timeout-after-write') await real.put(b, nowMs); // the write happens, the answer is lost
          throw translateAwsError(faultyError(mode === 'internal-error' ? 'InternalServerError' : 'TimeoutError', mode === 'internal-error' ? 500 : 0), 'PutCommand');
        },
      });
      const local = await startTestApi({ handlers: { ingest: createIngestHandler({ ...deps, events }) as unknown as LambdaHttpHandler } as never });
      try {
        const { key } = await local.newOrg();
        const lead = `lead_fault_batch_${mode}_${Date.now()}`;
        const batch = Array.from({ length: 5 }, (_, i) => sampleEvent({ lead_id: lead, external_event_id: `evt_b_${lead}_${i}` }));
        const answered = await local.request('POST', '/v1/events/batch', { key, body: { events: batch } });
        expect(answered.status, answered.text).toBe(200);
        expect(answered.body.results.map((r: { status: string }) => r.status)).toEqual(['created', 'created', 'error', 'created', 'created']);
        expect(answered.body.results[2]).toEqual({ index: 2, status: 'error', problem: expect.objectContaining({ status: 503, type: expect.stringContaining('service-unavailable') }) });
        const stored = (await api.request('GET', `/v1/leads/${encodeURIComponent(lead)}/events`, { key })).body.items.map((e: { id: string }) => e.id).sort();
        const created = answered.body.results.filter((r: { status: string }) => r.status === 'created').map((r: { id: string }) => r.id).sort();
        // Every item reported created is stored; the faulted one is stored only when the write happened before the fault.
        expect(stored.filter((id: string) => !created.includes(id))).toHaveLength(mode === 'timeout-after-write' ? 1 : 0);
        expect(created.every((id: string) => stored.includes(id))).toBe(true);
        const retried = await api.request('POST', '/v1/events/batch', { key, body: { events: batch } });
        expect(retried.body.results.map((r: { status: string }) => r.status)).toEqual(['duplicate', 'duplicate', mode === 'timeout-after-write' ? 'duplicate' : 'created', 'duplicate', 'duplicate']);
        expect((await api.request('GET', `/v1/leads/${encodeURIComponent(lead)}/events`, { key })).body.items).toHaveLength(5);
      } finally {
        await local.close();
      }
    },
  );
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
