import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReplaysHandler } from '../../functions/replays.js';
import { createDependencies } from '../../shared/adapters/container.js';
import type { LambdaHttpHandler } from '../../infra/local/http-server.js';
import type { EventStore, RangeQuery } from '../../shared/domain/ports.js';
import { withDeadline, DEADLINE_MARGIN_MS } from '../../shared/http/handler.js';
import { RequestTimeoutError } from '../../shared/domain/errors.js';
import { startTestApi, type TestApi } from '../support/api.js';

/**
 * A request that runs out of time stops its work (issue #20): its deadline (locally the server's request timeout, in
 * Lambda the remaining time, less a margin) fires an AbortSignal the long loops honour, and the answer is a 503
 * problem+json (request-timeout) with Retry-After, at once.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Fault injection only: a store whose every page is slow and has a next one (a dry run that would never end), counting reads. */
function endlessStore(real: EventStore) {
  const probe = { reads: 0, signals: [] as (AbortSignal | undefined)[] };
  const store: EventStore = Object.assign(Object.create(real) as EventStore, {
    async query(query: RangeQuery) {
      probe.reads += 1;
      probe.signals.push(query.signal);
      await sleep(20);
      return { items: [], next: { partition: 0, timeKey: `2026-01-01T00:00:00.000Z#00000000-0000-0000-0000-${String(probe.reads).padStart(12, '0')}` } };
    },
  });
  return { store, probe };
}

let api: TestApi;
let probe: ReturnType<typeof endlessStore>['probe'];
beforeAll(async () => {
  const deps = createDependencies();
  const endless = endlessStore(deps.events);
  probe = endless.probe;
  api = await startTestApi({
    handlers: { replays: createReplaysHandler({ ...deps, events: endless.store }) as unknown as LambdaHttpHandler } as never,
    requestTimeoutMs: DEADLINE_MARGIN_MS + 400, // a 400 ms budget
  });
});
afterAll(() => api.close());

describe('a request that times out', () => {
  it('a long replay dry run answers 503 request-timeout with Retry-After at its deadline, and its loop stops reading', async () => {
    const { key } = await api.newOrg();
    const now = Date.now();
    const started = performance.now();
    const res = await api.request('POST', '/v1/replays', { key, body: { from: new Date(now - 3_600_000).toISOString(), to: new Date(now).toISOString(), dry_run: true } });
    const took = performance.now() - started;
    expect(res.status, res.text).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.headers.get('retry-after')).toBe('5');
    expect(res.body.type).toMatch(/request-timeout$/);
    expect(took).toBeLessThan(2_000);
    expect(probe.reads).toBeGreaterThan(3); // it was reading
    expect(probe.signals.every((signal) => signal?.aborted === true)).toBe(true); // every read was given the deadline
    await sleep(100); // a page in flight at the deadline finishes
    const after = probe.reads;
    await sleep(500);
    expect(probe.reads, 'reads after the answer').toBe(after);
  });

  it('each request has its own deadline: one timing out never aborts another in flight', async () => {
    const slow = withDeadline({ getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 50 }, async (signal) => {
      await sleep(200);
      signal.throwIfAborted();
      return 'late';
    });
    let otherSignal: AbortSignal | undefined;
    const other = withDeadline({ getRemainingTimeInMillis: () => DEADLINE_MARGIN_MS + 5_000 }, async (signal) => {
      otherSignal = signal;
      await sleep(300);
      return 'done';
    });
    await expect(slow).rejects.toBeInstanceOf(RequestTimeoutError);
    expect(await other).toBe('done');
    expect(otherSignal?.aborted).toBe(false);
  });
});
