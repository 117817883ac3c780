import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalArchivedEvents } from '../../infra/local/local-archived-events.js';

const filter = { fromMs: Date.parse('2026-01-01T00:00:00Z'), toMs: Date.parse('2026-06-01T00:00:00Z') };

describe('reading archived events back locally, under a request deadline', () => {
  it('a count whose deadline has passed stops with the deadline, as a stopped Athena query does', async () => {
    const archived = new LocalArchivedEvents(mkdtempSync(join(tmpdir(), 'leadlog-archived-')));
    const reason = Object.assign(new Error('deadline'), { name: 'RequestTimeoutError' });
    await expect(archived.count('org_x', filter as never, AbortSignal.abort(reason))).rejects.toBe(reason);
    // The deadline firing while DuckDB runs interrupts it; the answer is the deadline, never DuckDB's "Interrupted".
    const controller = new AbortController();
    const counting = archived.count('org_x', filter as never, controller.signal);
    controller.abort(reason);
    await expect(counting.then(() => 'finished', (error: unknown) => (error === reason ? 'stopped' : error))).resolves.toMatch(/^(stopped|finished)$/);
    // Without a deadline, an empty archive counts nothing.
    expect(await archived.count('org_x', filter as never)).toBe(0);
  });
});
