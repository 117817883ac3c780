import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErasureRunner } from '../../infra/local/job-runner.js';
import { LocalArchive } from '../../infra/local/local-archive.js';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalExporter } from '../../infra/local/local-exporter.js';
import { createErasureDependencies } from '../../shared/adapters/container.js';
import { FileInboxObjects } from '../../shared/adapters/inbox-objects.js';
import { loadConfig } from '../../shared/config.js';
import { LEAD_ERASED_DETAIL_TYPE } from '../../shared/definitions/event-rules.js';
import { entrySize, MAX_BUS_ENTRIES, MAX_BUS_REQUEST_BYTES } from '../../shared/domain/fanout.js';
import { identityLimits, leadFamily, resolveLead } from '../../shared/domain/identity.js';
import { maskId } from '../../shared/domain/masking.js';
import type { BusEntry, EventBus } from '../../shared/domain/ports.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { apiEvent, unique } from '../support/leads.js';
import { controlItemsOf } from '../support/control-table.js';

/**
 * An erasure of a family of any size (contract sections 8 and 9; issue #21 point 5), against DynamoDB Local: a family
 * whose lead ids alone pass DynamoDB's 400 KB item limit (and EventBridge's 256 KB entry limit) is erased like any
 * other: DELETE answers 202, the job completes, no control item grows with the family, and `Lead Erased` reaches
 * the bus in entries EventBridge accepts, naming every member's pseudonym.
 */
let api: TestApi;
const archiveDir = mkdtempSync(join(tmpdir(), 'leadlog-erasure-size-'));
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

/** EventBridge's PutEvents limits (10 entries, 256 KB a request, Source + DetailType + Detail + 14 for Time), enforced before the local bus. */
class EventBridgeLimits implements EventBus {
  readonly sent: BusEntry[] = [];
  constructor(private readonly inner: EventBus) {}
  async putEvents(entries: BusEntry[]): Promise<number[]> {
    if (entries.length > MAX_BUS_ENTRIES) throw new Error(`PutEvents: ${entries.length} entries (at most ${MAX_BUS_ENTRIES})`);
    const bytes = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (bytes >= MAX_BUS_REQUEST_BYTES) throw new Error(`PutEvents: ${bytes} bytes (less than 256 KB)`);
    this.sent.push(...entries);
    return this.inner.putEvents(entries);
  }
}

/** A lead id of 255 three-byte characters (765 UTF-8 bytes), the i-th of its family. */
const wideId = (i: number) => '€'.repeat(253) + String.fromCharCode(0x4e00 + Math.floor(i / 256), 0x4e00 + (i % 256));

describe('an erasure of a family of any size (section 9; issue #21 point 5)', () => {
  it('600 leads with 255-character three-byte ids: DELETE 202, every member erased, no control item near 400 KB, Lead Erased in entries under 256 KB', async () => {
    const { orgId, key } = await api.newOrg();
    const store = api.deps.identities;
    const MEMBERS = 600;
    const limits = identityLimits({ ref: 1_000 });
    const root = wideId(MEMBERS);
    expect(Buffer.byteLength(root)).toBe(765);
    const nowIso = new Date(Date.now() - 60_000).toISOString();
    await resolveLead(store, orgId, { emails: [], phones: [], refs: [], objects: [`stripe:cs_root_${unique()}`] }, { nowIso, limits, explicitLeadId: root });
    // Each lead with a customer ref of its own, then tied to the root by a delivery naming that ref for the root.
    for (let start = 0; start < MEMBERS; start += 50) {
      await Promise.all(Array.from({ length: 50 }, async (_, j) => {
        const ref = `stripe:cus_w${start + j}_${unique()}`;
        await resolveLead(store, orgId, { emails: [], phones: [], refs: [ref] }, { nowIso: new Date().toISOString(), limits, explicitLeadId: wideId(start + j) });
        await resolveLead(store, orgId, { emails: [], phones: [], refs: [ref] }, { nowIso: new Date().toISOString(), limits, explicitLeadId: root });
      }));
    }
    const members = [root, ...Array.from({ length: MEMBERS }, (_, i) => wideId(i))];
    expect((await leadFamily(store, orgId, wideId(7))).members).toHaveLength(MEMBERS + 1);
    // A few members with events of their own.
    for (const lead of [root, wideId(0), wideId(599)]) {
      const posted = await api.request('POST', '/v1/events', { key, body: apiEvent(lead) });
      expect(posted.status, posted.text).toBe(201);
    }

    const erase = await api.request('DELETE', `/v1/leads/${encodeURIComponent(root)}`, { key });
    expect(erase.status, erase.text).toBe(202);
    // A second DELETE, of another member, answers the standing job.
    const again = await api.request('DELETE', `/v1/leads/${encodeURIComponent(wideId(42))}`, { key });
    expect(again.status, again.text).toBe(202);
    expect(again.body.erasure_id).toBe(erase.body.erasure_id);

    const bus = new EventBridgeLimits(new LocalBus({ rules: [] }));
    const runner = new ErasureRunner(createErasureDependencies(loadConfig(), {
      bus, archive: new LocalArchive({ dir: archiveDir }), exports: new LocalExporter({ archiveDir, exportDir: loadConfig().exportDir! }), inbox: new FileInboxObjects(join(archiveDir, 'inbox')),
    }), { onError: (error) => console.error('erasure step failed:', error.message), only: api.ownOrg });
    const deadline = Date.now() + 120_000;
    let job: { status: number; body: Record<string, unknown>; text: string };
    do {
      await runner.tick();
      job = await api.request('GET', `/v1/erasures/${erase.body.erasure_id}`, { key });
      expect(job.status, job.text).toBe(200);
      if (job.body.status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 200));
    } while (job.body.status !== 'completed' && Date.now() < deadline);
    expect(job!.body.status).toBe('completed');
    expect(job!.body.counts).toMatchObject({ leads: MEMBERS + 1, profiles: MEMBERS + 1, events: 3 });
    expect(new Set(job!.body.leads as string[])).toEqual(new Set(members.map(maskId)));

    for (const lead of members) expect((await api.request('GET', `/v1/leads/${encodeURIComponent(lead)}`, { key })).status).toBe(404);

    const items = await controlItemsOf(orgId);
    const biggest = Math.max(...items.map((item) => Buffer.byteLength(JSON.stringify(item))));
    expect(biggest).toBeLessThan(350 * 1024);

    // This erasure's entries: the runner also finishes other files' erasures running in the same DynamoDB Local.
    type Detail = { org_id: string; lead_id: string; erasure_id: string; leads: string[]; part: number; parts: number };
    const erased = bus.sent.filter((entry) => entry.DetailType === LEAD_ERASED_DETAIL_TYPE && (JSON.parse(entry.Detail) as Detail).erasure_id === erase.body.erasure_id);
    expect(erased.length).toBeGreaterThan(1);
    for (const entry of erased) expect(entrySize(entry)).toBeLessThan(256 * 1024);
    const details = erased.map((entry) => JSON.parse(entry.Detail) as Detail);
    for (const detail of details) {
      expect(detail).toMatchObject({ org_id: orgId, lead_id: maskId(root), erasure_id: erase.body.erasure_id, parts: details.length });
    }
    expect(details.map((detail) => detail.part).sort((a, b) => a - b)).toEqual(details.map((_, i) => i + 1));
    const announced = details.flatMap((detail) => detail.leads);
    expect(announced).toHaveLength(MEMBERS + 1);
    expect(new Set(announced)).toEqual(new Set(members.map(maskId)));
  }, 300_000);
});
