import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useConsoleRuntime, type OpenOptions } from '../support/console-runtime.js';
import { seedStory } from '../support/console-seed.js';

/**
 * Proof of record in the console (issue #25), in a real Chromium against the real `npm start`: each timeline row's
 * proof fetched and verified in the browser (WebCrypto) after the local integrator signed a checkpoint; a proof
 * tampered on the wire (puppeteer's request interception) shows "Verification failed"; a pending proof shows
 * "Pending" and is asked again; the evidence bundle downloads, and a key without pii:read hears why it cannot.
 */
declare const document: any;
declare const getComputedStyle: any;
const bench = useConsoleRuntime('leadlog-console-proofs-', 'org_console_proofs');
let url: string;
let key: string;
let readOnlyKey: string;
const LEAD = 'lead_proofs';
const EVENTS = 8; // seedStory's story

const open = (path: string, options?: OpenOptions): Promise<Page> => bench.open(path, options);

async function get(path: string, asKey = key): Promise<Response> {
  return fetch(`${url}${path}`, { headers: { authorization: `Bearer ${asKey}` } });
}

const proofPath = /\/v1\/events\/([^/]+)\/proof$/;

/** The rows' marks once every row has one that is no longer checking. */
async function marks(page: Page): Promise<{ state: string; text: string; label: string }[]> {
  await page.waitForFunction(() => /^\d+ of \d+ events$/.test(document.querySelector('[data-testid=timeline-count]')?.textContent ?? ''));
  await page.waitForFunction(() => {
    const all = [...document.querySelectorAll('.vlist .vrow .proof')];
    return all.length > 0 && all.every((el: any) => el.dataset.proof !== 'checking');
  }, { timeout: 30_000 });
  return page.$$eval('.vlist .vrow .proof', (els: any[]) => els.map((el) => ({ state: el.dataset.proof, text: el.innerText.replace(/\s+/g, ' '), label: el.getAttribute('aria-label') })));
}

beforeAll(async () => {
  ({ url, key } = bench);
  readOnlyKey = await bench.keyWith(['events:read']);
  await seedStory({ url, key }, LEAD);
  // The local integrator appends and signs a checkpoint every few seconds: wait until every event has its proof.
  const ids = ((await (await get(`/v1/leads/${LEAD}/events?limit=100`)).json()) as { items: { id: string }[] }).items.map((e) => e.id);
  expect(ids).toHaveLength(EVENTS);
  const deadline = Date.now() + 90_000;
  for (const id of ids) {
    for (;;) {
      const res = await get(`/v1/events/${id}/proof`);
      if (res.status === 200) break;
      expect(res.status, await res.text()).toBe(404);
      if (Date.now() > deadline) throw new Error(`no proof of ${id} within 90 s`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}, 180_000);

describe('proof of record in the console', () => {
  it('marks every event Verified (checked in the browser), naming the checkpoint; the open event shows its leaf and checkpoint', async () => {
    const proofs: string[] = [];
    const keyFetches: string[] = [];
    const page = await open(`/console/leads/${LEAD}`, {
      intercept: async (request) => {
        if (proofPath.test(new URL(request.url()).pathname)) proofs.push(request.url());
        if (request.url().endsWith('/v1/proofs/public-key')) keyFetches.push(request.url());
        return false;
      },
    });
    const shown = await marks(page);
    expect(shown).toHaveLength(EVENTS);
    for (const mark of shown) {
      expect(mark.state).toBe('verified');
      expect(mark.text).toContain('Verified');
      expect(mark.label).toMatch(/^Verified in this browser: in the checkpoint of \d+ events, signed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} UTC$/);
    }
    expect(new Set(proofs).size).toBe(EVENTS); // each proof asked once
    expect(keyFetches).toHaveLength(1); // the public key once per page load

    // Keyboard: focus the list, move to the third event; its proof panel names the leaf index and the checkpoint.
    await page.focus('.vlist');
    for (let i = 0; i < 3; i++) await page.keyboard.press('ArrowDown');
    await page.waitForSelector('[data-testid=proof-panel] [data-testid=proof-leaf-index]');
    const third = new URL(page.url()).searchParams.get('event')!;
    const api = (await (await get(`/v1/events/${third}/proof`)).json()) as { leaf_index: number; checkpoint: { tree_size: number } };
    expect(await page.$eval('[data-testid=proof-leaf-index]', (el: any) => el.innerText)).toBe(String(api.leaf_index));
    expect(Number(await page.$eval('[data-testid=proof-tree-size]', (el: any) => el.innerText))).toBeGreaterThanOrEqual(EVENTS);
    expect(await page.$eval('[data-testid=proof-result]', (el: any) => el.innerText)).toMatch(/^Verified in this browser/);
  });

  it('shows "Verification failed" for a proof tampered on the wire (a byte flipped), "Erased (leaf kept)" for an erased one, and Pending until a checkpoint has it', async () => {
    const ids = ((await (await get(`/v1/leads/${LEAD}/events?order=asc&limit=100`)).json()) as { items: { id: string }[] }).items.map((e) => e.id);
    const [flipped, rooted, erased, pending] = [ids[1]!, ids[2]!, ids[3]!, ids[4]!];
    let pendingAsked = 0;
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[7]! ^= 0x01;
      return bytes.toString('base64');
    };
    const page = await open(`/console/leads/${LEAD}`, {
      intercept: async (request) => {
        const id = proofPath.exec(new URL(request.url()).pathname)?.[1];
        if (!id || ![flipped, rooted, erased, pending].includes(id)) return false;
        if (id === pending && pendingAsked++ === 0) {
          await request.respond({
            status: 404, headers: { 'retry-after': '2' }, contentType: 'application/problem+json',
            body: JSON.stringify({ type: 'https://leadlog.dev/problems/proof-pending', title: 'Proof pending', status: 404 }),
          });
          return true;
        }
        const real = (await (await get(new URL(request.url()).pathname)).json()) as Record<string, any>;
        if (id === flipped) {
          // One byte of the inclusion proof (or of the leaf hash, when the tree holds this one leaf's sibling only).
          if (real.inclusion_proof.length > 0) real.inclusion_proof[0] = flip(real.inclusion_proof[0]);
          else real.leaf_hash = flip(real.leaf_hash);
        }
        if (id === rooted) real.checkpoint.root_hash = flip(real.checkpoint.root_hash); // the signed body no longer matches
        if (id === erased) Object.assign(real, { leaf: null, erased: true, erased_at: new Date().toISOString() });
        await request.respond({ status: 200, contentType: 'application/json', body: JSON.stringify(real) });
        return true;
      },
    });
    const rowMark = (id: string) => page.$eval(`[id="row-${id}"] .proof`, (el: any) => ({ state: el.dataset.proof, text: el.innerText.replace(/\s+/g, ' '), label: el.getAttribute('aria-label') }));
    await page.waitForSelector(`[id="row-${pending}"] .proof[data-proof=pending]`, { timeout: 15_000 });
    expect((await rowMark(pending)).text).toContain('Pending');
    const all = await marks(page);
    expect(all.filter((m) => m.state === 'failed')).toHaveLength(2);
    for (const id of [flipped, rooted]) {
      const mark = await rowMark(id);
      expect(mark.state).toBe('failed');
      expect(mark.text).toContain('Verification failed');
      expect(await page.$eval(`[id="row-${id}"] .proof`, (el: any) => getComputedStyle(el).color)).toBe('rgb(180, 35, 44)');
    }
    expect((await rowMark(flipped)).label).toMatch(/inclusion proof|leaf_hash/);
    expect((await rowMark(rooted)).label).toContain('signed text');
    const erasedMark = await rowMark(erased);
    expect(erasedMark.state).toBe('verified');
    expect(erasedMark.text).toContain('Erased (leaf kept)');
    // Asked again after its Retry-After, the pending proof verifies.
    await page.waitForSelector(`[id="row-${pending}"] .proof[data-proof=verified]`, { timeout: 15_000 });
    expect(pendingAsked).toBe(2);
    // The failed event's panel says what failed.
    await page.click(`[id="row-${flipped}"]`);
    await page.waitForFunction(() => /^Verification failed: /.test(document.querySelector('[data-testid=proof-result]')?.innerText ?? ''));
  });

  it('downloads the evidence bundle as leadlog-evidence-<lead_id>.json, byte for byte the API\'s bundle of this lead', async () => {
    const page = await open(`/console/leads/${LEAD}`);
    const folder = mkdtempSync(join(tmpdir(), 'leadlog-evidence-'));
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: folder });
    await page.waitForSelector('[data-testid=download-evidence]');
    await page.click('[data-testid=download-evidence]');
    await expect.poll(() => readdirSync(folder).filter((f) => f.endsWith('.json')), { timeout: 15_000 }).toEqual([`leadlog-evidence-${LEAD}.json`]);
    await page.waitForSelector('[data-testid=evidence-done]');
    const text = readFileSync(join(folder, `leadlog-evidence-${LEAD}.json`), 'utf8');
    const bundle = JSON.parse(text) as { format: string; lead_id: string; org_id: string; events: { id: string; record: string }[]; checkpoint: { tree_size: number } };
    expect(bundle.format).toBe('leadlog-evidence/1');
    expect(bundle.lead_id).toBe(LEAD);
    expect(bundle.org_id).toBe('org_console_proofs');
    const ids = ((await (await get(`/v1/leads/${LEAD}/events?limit=100`)).json()) as { items: { id: string }[] }).items.map((e) => e.id);
    expect(bundle.events.map((e) => e.id).sort()).toEqual([...ids].sort());
    expect(bundle.checkpoint.tree_size).toBeGreaterThanOrEqual(EVENTS);
    // Saved as the API sent it: the records are exact texts, never re-serialized by the page.
    const again = (await (await get(`/v1/leads/${LEAD}/evidence`)).json()) as typeof bundle;
    expect(bundle.events.map((e) => e.record)).toEqual(again.events.map((e) => e.record));
  });

  it('tells a key without pii:read why it cannot have the evidence (the 403 problem), on a 390 px phone with the marks readable', async () => {
    const page = await open(`/console/leads/${LEAD}`, { key: readOnlyKey, width: 390 });
    const shown = await marks(page);
    expect(shown.every((m) => m.state === 'verified')).toBe(true);
    expect(await page.$eval('.vlist .vrow .proof', (el: any) => el.getBoundingClientRect().right)).toBeLessThanOrEqual(390);
    await page.click('[data-testid=download-evidence]');
    const error = await page.waitForSelector('[data-testid=evidence-error]');
    const text = await error!.evaluate((el: any) => el.innerText);
    expect(text).toContain('pii:read');
    expect(text).toContain('(403)');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });
});

