import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { freePort } from '../../infra/local/dynamo.js';
import { sampleEvent } from '../support/api.js';
import { startRuntime, stopRuntime } from '../support/runtime.js';

describe('npm start killed with SIGKILL in the middle of an erasure', () => {
  it('finishes the erasure after a restart: nothing of the lead in DynamoDB or the archive, the other lead whole', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-erasure-crash-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const first = startRuntime(dataDir, port);
    await first.ready;
    const key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(url + path, {
        method, headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const lead = `lead_erase_${Date.now()}`;
    const kept = `lead_keep_${Date.now()}`;
    for (let batch = 0; batch < 5; batch++) {
      const events = Array.from({ length: 100 }, (_, i) => sampleEvent({
        lead_id: batch === 4 && i >= 50 ? kept : lead, external_event_id: `evt_${batch}_${i}`,
        ...(i === 0 && batch === 0 ? { identity: { email: 'crash.erasure@example.com' } } : {}),
      }));
      const res = await call('POST', '/v1/events/batch', { events });
      expect(res.body.results.every((r: { status: string }) => r.status === 'created')).toBe(true);
    }
    expect(await stopRuntime(first.child)).toBe(0); // the archive holds every row now
    const archived = async () => {
      const { rows } = await runArchiveSql(join(dataDir, 'archive'), "SELECT lead_id, count(*) AS n FROM events WHERE org_id = 'org_runtime_test' GROUP BY lead_id");
      return Object.fromEntries(rows.map((r) => [r.lead_id as string, Number(r.n)]));
    };
    expect(await archived()).toEqual({ [lead]: 450, [kept]: 50 });

    const second = startRuntime(dataDir, port);
    await second.ready;
    const requested = await call('DELETE', `/v1/leads/${lead}`);
    expect(requested.status).toBe(202);
    const id = requested.body.erasure_id as string;
    let state: { status: string; phase: string; counts: { events: number } };
    do {
      state = (await call('GET', `/v1/erasures/${id}`)).body;
    } while (state.counts.events === 0 && state.status === 'running');
    second.child.kill('SIGKILL'); // mid-way: some events deleted, the rest, the profile and the archive not yet
    await new Promise<void>((resolve) => second.child.once('exit', () => resolve()));
    expect(state.status).toBe('running');

    const third = startRuntime(dataDir, port); // finds the running job and resumes it
    await third.ready;
    const deadline = Date.now() + 30_000;
    do {
      await new Promise((resolve) => setTimeout(resolve, 250));
      state = (await call('GET', `/v1/erasures/${id}`)).body;
    } while (state.status !== 'completed' && Date.now() < deadline);
    expect(state).toMatchObject({ status: 'completed', counts: { events: 450, archive_rows: 450, profiles: 1 } });
    expect((await call('GET', `/v1/leads/${lead}`)).status).toBe(404);
    expect((await call('GET', `/v1/leads/${lead}/events`)).status).toBe(404);
    expect((await call('GET', '/v1/leads?email=crash.erasure%40example.com')).body).toEqual({ items: [] });
    expect((await call('GET', `/v1/leads/${kept}/events?limit=1000`)).body.items).toHaveLength(50);
    expect(await stopRuntime(third.child)).toBe(0);
    expect(await archived()).toEqual({ [kept]: 50 });
  }, 180_000);
});
