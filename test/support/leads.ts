import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TestApi } from './api.js';

/** Eight random hex characters: ids and addresses of their own for each test. */
export const unique = () => randomUUID().slice(0, 8);

/** An API event on `lead` (custom.seen), with the identities it links, and any field overridden. */
export const apiEvent = (lead: string, identity?: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  lead_id: lead, source_type: 'direct', source: 'web', event_type: 'custom.seen', payload: {}, ...(identity ? { identity } : {}), ...extra,
});

export interface TimelineEvent {
  event_type: string;
  lead_id: string;
  payload: Record<string, unknown>;
}

/** A lead's union timeline through the API (GET /v1/leads/{lead_id}/events, one page of up to 1,000), asserting 200. */
export async function timeline(api: TestApi, key: string, lead: string): Promise<TimelineEvent[]> {
  const res = await api.request('GET', `/v1/leads/${encodeURIComponent(lead)}/events?limit=1000`, { key });
  expect(res.status, res.text).toBe(200);
  return res.body.items;
}
