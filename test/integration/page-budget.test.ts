import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_PAGE_BYTES } from '../../shared/domain/queries.js';
import { startTestApi, type TestApi } from '../support/api.js';

/**
 * A page's byte budget (red-team finding 3): a lead of large events (near the 256 KB body limit each) would answer
 * ~10 MB at the default limit, past Lambda's 6 MB synchronous response. Every paged read of events (a timeline,
 * GET /v1/events, a flow's events) stops at 4 MB and continues from the last item it sent: every event once, in
 * order, for a reader with pii:read and one without (items masked before they are measured).
 */
let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

const EVENTS = 40;
const NOTE_BYTES = 230 * 1024;

describe('a page stops at its byte budget', () => {
  it('answers every large event exactly once, in order, in pages under 4 MB, on every paged read', async () => {
    const { orgId, key } = await api.newOrg();
    const reader = await api.keyFor(orgId, ['events:read']);
    const lead = `fat_${orgId.slice(-8)}`;
    const flow = `flow_${orgId.slice(-8)}`;
    const start = Date.now() - 3_600_000;
    const ids: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      const body = {
        lead_id: lead, flow_id: flow, source_type: 'direct', source: 'web', event_type: 'custom.note',
        occurred_at: new Date(start + i * 1000).toISOString(),
        // Mostly ASCII, with a 3-byte character every 100: the budget counts bytes, not characters.
        payload: { note: `${i}:`.padEnd(NOTE_BYTES, `${'n'.repeat(99)}€`) },
      };
      const res = await api.request('POST', '/v1/events', { key, body });
      expect(res.status, res.text).toBe(201);
      ids.push((res.body.event as { id: string }).id);
    }
    expect(EVENTS * NOTE_BYTES).toBeGreaterThan(2 * MAX_PAGE_BYTES); // a default page of them would pass the budget

    const paths = [`/v1/leads/${lead}/events`, `/v1/events?flow_id=${flow}`, '/v1/events', `/v1/flows/${flow}/events`];
    for (const asKey of [key, reader]) {
      for (const path of paths) {
        const seen: string[] = [];
        let pages = 0;
        let cursor: string | null = null;
        do {
          const url: string = cursor === null ? path : `${path}${path.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(cursor)}`;
          const res = await api.request('GET', url, { key: asKey });
          expect(res.status, `${path}: ${res.text.slice(0, 200)}`).toBe(200);
          expect(Buffer.byteLength(res.text, 'utf8'), path).toBeLessThanOrEqual(MAX_PAGE_BYTES);
          const items = res.body.items as { id: string }[];
          expect(items.length, path).toBeGreaterThan(0);
          seen.push(...items.map((item) => item.id));
          cursor = res.body.next_cursor as string | null;
          pages += 1;
        } while (cursor !== null && pages < EVENTS + 1);
        expect(seen, path).toEqual(ids);
        expect(pages, path).toBeGreaterThanOrEqual(3);
      }
    }
  }, 120_000);
});
