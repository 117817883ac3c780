import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runArchiveSql } from '../../infra/local/athena.js';
import { freePort } from '../../infra/local/dynamo.js';
import { alive } from '../../infra/local/runtime.js';
import { sampleEvent } from '../support/api.js';
import { startRuntime, stopRuntime } from '../support/runtime.js';

describe('npm start killed with SIGKILL in the middle of a load', () => {
  it('comes back with every acknowledged event in DynamoDB and, once its poller resumes, in the archive exactly once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-crash-'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const first = startRuntime(dataDir, port);
    await first.ready;
    const key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    const orphanedJava = Number(readFileSync(join(dataDir, 'dynamodb.pid'), 'utf8'));

    const acknowledged = new Set<string>();
    let killed = false;
    const writers = Array.from({ length: 8 }, async (_, writer) => {
      for (let i = 0; !killed; i++) {
        try {
          const res = await fetch(`${url}/v1/events`, {
            method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(sampleEvent({ lead_id: 'lead_crash', external_event_id: `evt_${writer}_${i}` })),
          });
          if (res.status === 201) acknowledged.add(((await res.json()) as { event: { id: string } }).event.id);
        } catch {
          // the connection died with the process: not acknowledged
        }
      }
    });
    await new Promise((r) => setTimeout(r, 2500));
    first.child.kill('SIGKILL');
    killed = true;
    await Promise.all(writers);
    expect(acknowledged.size).toBeGreaterThan(20);

    const second = startRuntime(dataDir, port); // stops the orphaned DynamoDB Local, resumes the stream from its checkpoint
    await second.ready;
    expect(alive(orphanedJava)).toBe(false);
    const stored = new Set<string>();
    let cursor: string | null = null;
    do {
      const res = await fetch(`${url}/v1/leads/lead_crash/events?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${key}` } });
      const page = (await res.json()) as { items: { id: string }[]; next_cursor: string | null };
      page.items.forEach((e) => stored.add(e.id));
      cursor = page.next_cursor;
    } while (cursor);
    expect([...acknowledged].filter((id) => !stored.has(id))).toEqual([]);

    expect(await stopRuntime(second.child)).toBe(0); // drains the stream and flushes the archive
    const { rows } = await runArchiveSql(join(dataDir, 'archive'), "SELECT id, count(*) AS copies FROM events WHERE org_id = 'org_runtime_test' GROUP BY id");
    const archived = new Map(rows.map((r) => [r.id as string, Number(r.copies)]));
    expect([...acknowledged].filter((id) => archived.get(id) !== 1)).toEqual([]);
    expect(archived.size).toBe(stored.size); // and nothing the table does not hold
  }, 120_000);
});
