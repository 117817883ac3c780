import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useConsoleRuntime } from '../support/console-runtime.js';
import { seedLongTimeline, seedMerge, seedStory } from '../support/console-seed.js';

/**
 * The console (section 11) in a real Chromium against the real `npm start`: sign in, search, the lead page,
 * the timeline, the snapshot diff, the inspector, deep links, masking, the explorer, keyboard use, a phone-sized
 * screen, and no page errors or requests elsewhere. CONSOLE_SCREENSHOTS=<folder> saves each page there
 * (`npm run console:screenshots` writes docs/console/).
 */
const SHOTS = process.env.CONSOLE_SCREENSHOTS;
// The callbacks below run in the page: its globals, typed loosely here (this project's TypeScript has no DOM lib).
declare const document: any;
declare const location: any;
declare const sessionStorage: any;
declare const localStorage: any;
const bench = useConsoleRuntime('leadlog-console-', 'org_console');
let url: string;
let key: string;
let readOnlyKey: string;

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) as `${string}.png` });
}

/** A page on `path`, signed in only when given a key (the sign-in form is what several tests look at). */
const open = (path: string, options: { key?: string; width?: number } = {}): Promise<Page> => bench.open(path, { ...options, key: options.key ?? false });

/** The event types of a lead's timeline, once it has loaded whole. */
async function timelineTypes(page: Page): Promise<string[]> {
  await page.waitForFunction(() => /^\d+ of \d+ events$/.test(document.querySelector('[data-testid=timeline-count]')?.textContent ?? ''));
  return page.$$eval('.vlist .vrow .type', (els: any[]) => els.map((el) => el.innerText));
}
const seen = (types: string[]) => types.filter((t) => t === 'custom.seen').length;

async function textOf(page: Page, selector: string): Promise<string> {
  await page.waitForSelector(selector);
  return page.$eval(selector, (el: any) => el.innerText);
}

beforeAll(async () => {
  ({ url, key } = bench);
  readOnlyKey = await bench.keyWith(['events:read']);
  await seedStory({ url, key });
  await seedLongTimeline({ url, key }, 'lead_long', 1000);
}, 180_000);

describe('the console in a real browser', () => {
  it('asks for a key, keeps it in sessionStorage only, and never puts it in a URL', async () => {
    const page = await open('/console/');
    await page.waitForSelector('#api-key');
    await shot(page, '1-sign-in');
    expect(await page.$eval('#api-key', (el: any) => el.type)).toBe('password');
    await page.type('#api-key', key);
    await page.click('button[type=submit]');
    await page.waitForSelector('#q');
    const storage = await page.evaluate(() => ({ session: sessionStorage.getItem('leadlog.apiKey'), local: JSON.stringify(localStorage), href: location.href, cookie: document.cookie }));
    expect(storage.session).toBe(key);
    expect(storage.local).toBe('{}');
    expect(storage.href).not.toContain(key.slice(4, 16));
    expect(storage.cookie).toBe('');
    // A wrong key is refused and forgotten.
    const other = await open('/console/');
    await other.waitForSelector('#api-key');
    await other.type('#api-key', 'llk_nope_nope');
    await other.click('button[type=submit]');
    expect(await textOf(other, '[role=alert]')).toContain('not accepted');
    expect(await other.evaluate(() => sessionStorage.getItem('leadlog.apiKey'))).toBeNull();
  });

  it('finds a lead by e-mail (any case) and opens its page: identities, timeline in order, durations', async () => {
    const page = await open('/console/', { key });
    await page.type('#q', 'ANA.Souza@Example.com');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=search-results] a');
    await shot(page, '2-search');
    expect(await textOf(page, '[data-testid=search-results]')).toContain('lead_ana');
    await page.click('[data-testid=search-results] a');
    await page.waitForFunction(() => document.querySelector('[data-testid=timeline-count]')?.textContent?.startsWith('8 of 8'));
    expect(await textOf(page, '[data-testid=identities]')).toContain('ana.souza@example.com');
    expect(await textOf(page, '[data-testid=identities]')).toContain('+5511987654321');
    const rows = await page.$$eval('.vlist .vrow', (els: any[]) => els.map((el) => [...el.querySelectorAll(':scope > span')].map((x: any) => x.innerText)));
    const types = rows.map((r) => r[1]);
    expect(types).toEqual(['product_viewed', 'source.submitted', 'filter.passed', 'enhancement.success', 'recipient.failed', 'retry.attempted', 'recipient.delivered', 'purchase_completed']);
    const times = rows.map((r) => r[0]!);
    expect([...times].sort()).toEqual(times);
    expect(rows[4]).toContain('2.40 s');
    // Filters live in the URL: family=recipient keeps the two deliveries.
    await page.select('.filters select', 'recipient');
    await page.waitForFunction(() => document.querySelector('[data-testid=timeline-count]')?.textContent?.startsWith('2 of 8'));
    expect(new URL(page.url()).searchParams.get('family')).toBe('recipient');
  });

  it("shows each step's snapshot diff against the step before, and the inspector's payload, raw bytes and curl line", async () => {
    const page = await open('/console/leads/lead_ana', { key });
    await page.waitForFunction(() => document.querySelector('[data-testid=timeline-count]')?.textContent?.startsWith('8 of 8'));
    const rows = await page.$$('.vlist .vrow');
    await rows[3]!.click(); // enhancement.success: score 40 → 72, company added, state removed
    await page.waitForSelector('[data-testid=snapshot-diff]');
    await shot(page, '3-lead-diff');
    const diff = await page.$$eval('[data-testid=snapshot-diff] tbody tr', (trs: any[]) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td: any) => td.innerText)));
    expect(diff).toEqual([['added', 'company', '', '"Acme Ltda"'], ['changed', 'score', '40', '72'], ['removed', 'state', '"SP"', '']]);
    await page.click('[role=tab]:nth-child(1)');
    expect(await textOf(page, '.panel .json')).toContain('"integration": "clearbit"');
    await page.click('[role=tab]:nth-child(4)');
    const raw = await textOf(page, '[data-testid=raw-bytes]');
    expect(JSON.parse(raw)).toEqual({ company: { name: 'Acme Ltda', domain: 'acme.com.br' }, person: { email: 'ana.souza@example.com' }, score: 72 });
    await page.click('[data-testid=copy-curl]');
    const curl = await textOf(page, '.note code');
    expect(curl).toMatch(/Copied|curl -si ".*\/v1\/events\/[0-9a-f-]{36}" -H "Authorization: Bearer \$LEADLOG_KEY"/);
    expect(curl).not.toContain(key);
    // The purchase keeps all 18 digits of its order id.
    await (await page.$$('.vlist .vrow'))[7]!.click();
    await page.click('[role=tab]:nth-child(1)');
    expect(await textOf(page, '.panel .json')).toContain('"order_id": 828758318460506337');
  });

  it('reopens the same view from its URL, after a reload and in a new tab once signed in', async () => {
    const page = await open('/console/leads/lead_ana', { key });
    await page.waitForSelector('.vlist .vrow');
    await (await page.$$('.vlist .vrow'))[4]!.click();
    await page.click('[role=tab]:nth-child(5)');
    const link = page.url();
    expect(link).toMatch(/event=[0-9a-f-]{36}/);
    expect(link).toContain('tab=details');
    await page.reload();
    expect(await textOf(page, '.inspector h3')).toBe('recipient.failed');
    expect(await textOf(page, '.details')).toContain('CRM answered 503');
    const fresh = await bench.browser.newPage();
    bench.track(fresh);
    await fresh.goto(link);
    await fresh.waitForSelector('#api-key');
    await fresh.type('#api-key', key);
    await fresh.click('button[type=submit]');
    expect(await textOf(fresh, '.inspector h3')).toBe('recipient.failed');
    expect(fresh.url()).toBe(link);
  });

  it('moves through the timeline with the keyboard', async () => {
    const page = await open('/console/leads/lead_ana', { key });
    await page.waitForSelector('.vlist');
    await page.focus('.vlist');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await textOf(page, '.inspector h3')).toBe('source.submitted');
    await page.keyboard.press('End');
    expect(await textOf(page, '.inspector h3')).toBe('purchase_completed');
  });

  it('shows what a key without pii:read may not see as masked, and refuses it the raw bytes', async () => {
    const context = await bench.browser.createBrowserContext();
    const page = await context.newPage();
    bench.track(page);
    await page.goto(`${url}/console/leads/lead_ana`);
    await page.type('#api-key', readOnlyKey);
    await page.click('button[type=submit]');
    const identities = await textOf(page, '[data-testid=identities]');
    expect(identities).toContain('a***@example.com');
    expect(identities).not.toContain('ana.souza');
    expect(await page.$$eval('[data-testid=identities] .masked', (els: any[]) => els.length)).toBe(2);
    await page.waitForSelector('.vlist .vrow');
    await (await page.$$('.vlist .vrow'))[1]!.click();
    await page.click('[role=tab]:nth-child(3)');
    const snapshot = await textOf(page, '.panel .json');
    expect(snapshot).toContain('"first_name": "A***"');
    expect(snapshot).not.toContain('Ana"');
    await shot(page, '4-masked');
    await page.click('[role=tab]:nth-child(4)');
    await page.waitForSelector('[data-testid=raw-forbidden]');
    await context.close();
  });

  it('explores the org\'s events with filters, paging and a live tail that keeps the reading position', async () => {
    const page = await open('/console/events?range=24h&type=source.*', { key });
    await page.waitForSelector('[data-testid=explorer-count]');
    expect(await textOf(page, '[data-testid=explorer-count]')).toMatch(/^100 events/);
    expect(await page.$eval('.vlist', (el: any) => [...el.querySelectorAll('.type')].every((t: any) => t.innerText.startsWith('source.')))).toBe(true);
    await page.click('main > .split button:not([role])');
    await page.waitForFunction(() => /^(1\d\d|2\d\d) events/.test(document.querySelector('[data-testid=explorer-count]')?.textContent ?? ''));
    await shot(page, '5-explorer');
    // Live: scroll down a little, post an event, and the rows under the eye stay where they were.
    await page.goto(`${url}/console/events?range=24h&live=1`);
    await page.waitForSelector('.vlist .vrow');
    const before = await page.$eval('[data-testid=explorer-count]', (el: any) => el.innerText);
    await page.$eval('.vlist', (el: any) => (el.scrollTop = 68));
    const anchor = await page.$eval('.vlist', (el: any) => document.elementFromPoint(el.getBoundingClientRect().left + 200, el.getBoundingClientRect().top + 10)!.closest('.vrow')!.id);
    await fetch(`${url}/v1/events`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ lead_id: 'lead_live', source_type: 'direct', source: 'web', event_type: 'custom.ping', payload: {} }),
    });
    await page.waitForFunction((b) => document.querySelector('[data-testid=explorer-count]')?.textContent !== b, { timeout: 15_000 }, before);
    const after = await page.$eval('.vlist', (el: any) => document.elementFromPoint(el.getBoundingClientRect().left + 200, el.getBoundingClientRect().top + 10)!.closest('.vrow')!.id);
    expect(after).toBe(anchor);
  });

  it('lists alerts and unmapped deliveries with designed empty states, and re-maps', async () => {
    const page = await open('/console/alerts', { key });
    expect(await textOf(page, '.state.empty')).toContain('No alert');
    await page.goto(`${url}/console/unmapped`);
    expect(await textOf(page, '.state.empty')).toContain('Every delivery was mapped');
    await page.click('[data-testid=remap]');
    expect(await textOf(page, '[role=status]')).toMatch(/Examined \d+, re-mapped 0/);
    await shot(page, '6-unmapped');
  });

  it('exports: starts one, follows it to its download, and keeps daily schedules', async () => {
    const page = await open('/console/exports', { key });
    await page.waitForSelector('form[aria-label="New export"]');
    await page.type('form[aria-label="New export"] input[placeholder^="purchase"]', 'purchase_completed');
    await page.click('form[aria-label="New export"] button[type=submit]');
    await page.waitForSelector('[data-testid=export-download]', { timeout: 30_000 });
    expect(new URL(page.url()).searchParams.get('id')).toMatch(/^ex_[0-9a-f]{32}$/);
    expect(await textOf(page, '[data-testid=export-status] [role=status]')).toMatch(/^1 row,/);
    const csv = await page.$eval('[data-testid=export-download]', async (a: any) => (await fetch(a.href)).text());
    expect(csv.split('\n')[0]).toMatch(/^id,lead_id,/);
    expect(csv).toContain('828758318460506337');
    await page.type('form[aria-label="New schedule"] input[required]', 'daily purchases');
    await page.click('form[aria-label="New schedule"] button[type=submit]');
    await page.waitForSelector('[data-testid=schedules]');
    expect(await textOf(page, '[data-testid=schedules]')).toContain('daily purchases');
    await shot(page, '8-exports');
    await page.click('[data-testid=schedules] button');
    await page.waitForFunction(() => document.querySelector('[data-testid=schedules]') === null);
  });

  it('unmerges from the lead page for an admin key: asks once per session, confirms, reloads the lead, links the live lead; a stale page hears it was already done, and an erased lead is a problem+json alert', async () => {
    await seedMerge({ url, key }, 'lead_una', 'lead_otto', 'una.otto@example.com', '+5521991234007');
    const page = await open('/console/leads/lead_una', { key });
    const scopeChecks: string[] = [];
    page.on('request', (request) => request.url().includes('/v1/settings/identity') && scopeChecks.push(request.method()));
    // Two more pages on the survivor, opened before the unmerge: they still list lead_otto.
    const stale = await open('/console/leads/lead_una', { key });
    const gone = await open('/console/leads/lead_una', { key });
    for (const p of [page, stale, gone]) {
      p.setDefaultTimeout(10_000); // a step that fails says which, before the test's own timeout
      await p.waitForSelector('button[aria-label="Unmerge lead_otto"]');
    }
    // The admin check was made at sign-in's first page and is remembered for the tab: a reload and another lead page ask nothing.
    await page.reload();
    await page.waitForSelector('button[aria-label="Unmerge lead_otto"]');
    await page.goto(`${url}/console/leads/lead_ana`);
    await page.waitForSelector('[data-testid=identities]');
    await page.goto(`${url}/console/leads/lead_una`);
    expect(await textOf(page, '[data-testid=merged-from]')).toContain('lead_otto');
    expect(scopeChecks).toEqual([]);
    expect(seen(await timelineTypes(page))).toBe(2); // the union timeline: both leads' events

    // A click only asks; cancel keeps the merge, confirm splits it.
    await page.click('button[aria-label="Unmerge lead_otto"]');
    expect(await textOf(page, '[role=group][aria-label="Confirm unmerging lead_otto"]')).toContain('splits the two families');
    await page.click('[role=group] button:not([data-testid])');
    expect(await page.$('[role=group][aria-label^="Confirm unmerging"]')).toBeNull();
    await page.click('button[aria-label="Unmerge lead_otto"]');
    await page.click('[data-testid=confirm-unmerge]');
    expect(await textOf(page, '[data-testid=unmerge-result]')).toBe('Unmerged: lead_otto is a live lead again, with its own identities and timeline.');
    // The lead reloaded: lead_otto is no longer merged from, and its events left the timeline.
    await page.waitForSelector('[data-testid=identities]');
    expect(await page.$('[data-testid=merged-from]')).toBeNull();
    expect(seen(await timelineTypes(page))).toBe(1);
    expect(await page.$('button[aria-label^="Unmerge"]')).toBeNull();
    await page.click('[data-testid=unmerge-result] a');
    await page.waitForFunction(() => document.querySelector('[data-testid=lead-id]')?.textContent === 'lead_otto');
    await page.waitForSelector('[data-testid=identities]');
    expect(await page.$('.lead-facts .banner')).toBeNull(); // no "Merged into": live
    expect(await textOf(page, '[data-testid=identities]')).toContain('+5521991234007');
    expect(seen(await timelineTypes(page))).toBe(1);

    // A page that still showed the merge: the API answers changed: false, and the page catches up.
    await stale.click('button[aria-label="Unmerge lead_otto"]');
    await stale.click('[data-testid=confirm-unmerge]');
    expect(await textOf(stale, '[data-testid=unmerge-result]')).toBe('lead_otto was already unmerged: nothing changed.');
    await stale.waitForFunction(() => document.querySelector('[data-testid=identities]') && !document.querySelector('[data-testid=merged-from]'));

    // The unmerged lead erased (its own family now): unmerging it again is a 404, shown as the API's problem.
    const erasure = await fetch(`${url}/v1/leads/lead_otto`, { method: 'DELETE', headers: { authorization: `Bearer ${key}` } });
    expect(erasure.status).toBe(202);
    const { erasure_id } = (await erasure.json()) as { erasure_id: string };
    await expect.poll(async () => ((await (await fetch(`${url}/v1/erasures/${erasure_id}`, { headers: { authorization: `Bearer ${key}` } })).json()) as { status: string }).status, { timeout: 30_000, interval: 250 }).toBe('completed');
    await gone.click('button[aria-label="Unmerge lead_otto"]');
    await gone.click('[data-testid=confirm-unmerge]');
    const problem = await textOf(gone, '[data-testid=unmerge-error] [role=alert]');
    expect(problem).toContain('(404)');
    expect(await gone.$('[data-testid=unmerge-result]')).toBeNull();
    // The survivor was not erased with it.
    expect((await fetch(`${url}/v1/leads/lead_una`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
  }, 90_000);

  it('shows no Unmerge button to a key without the admin scope', async () => {
    await seedMerge({ url, key }, 'lead_ines', 'lead_ivo', 'ines.ivo@example.com', '+5521991234008');
    const context = await bench.browser.createBrowserContext();
    const page = await context.newPage();
    bench.track(page);
    page.setDefaultTimeout(10_000);
    const scopeChecks: number[] = [];
    page.on('response', (response) => response.url().includes('/v1/settings/identity') && scopeChecks.push(response.status()));
    await page.goto(`${url}/console/leads/lead_ines`);
    await page.type('#api-key', readOnlyKey);
    await page.click('button[type=submit]');
    expect(await textOf(page, '[data-testid=merged-from]')).toContain('lead_ivo');
    expect(seen(await timelineTypes(page))).toBe(2);
    await expect.poll(() => scopeChecks).toEqual([403]);
    expect(await page.$('button[aria-label^="Unmerge"]')).toBeNull();
    // Remembered: a reload does not ask again, and still shows no button.
    await page.reload();
    expect(await textOf(page, '[data-testid=merged-from]')).toContain('lead_ivo');
    expect(seen(await timelineTypes(page))).toBe(2);
    expect(scopeChecks).toEqual([403]);
    expect(await page.$('button[aria-label^="Unmerge"]')).toBeNull();
    await context.close();
  });

  it('is readable on a 390 px phone: nothing wider than the screen', async () => {
    const page = await open('/console/leads/lead_ana', { key, width: 390 });
    await page.waitForSelector('.vlist .vrow');
    await (await page.$$('.vlist .vrow'))[3]!.click();
    await page.waitForSelector('[data-testid=snapshot-diff]');
    await shot(page, '7-phone');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  });

  it("shows a LeadConduit lead like any other (issue #23 point 7): its types and outcomes, the step waterfall from timing's clock times, the typed values' snapshot diff", async () => {
    // LeadConduit's own events of one lead (the fixtures, posted as LeadConduit publishes them), under a lead id of
    // this test; the source step's lead lacks the TrustedForm field the filter appended and spells the state otherwise.
    const leadId = '6932ff00c0c0c0c0c0c0c0c0';
    const names = ['source-success', 'filter-continue', 'recipient-success', 'recipient-failure', 'recipient-error', 'recipient-skip', 'retry-success', 'feedback-received', 'feedback-sent'];
    const events = names.map((name) => {
      const event = JSON.parse(readFileSync(new URL(`../fixtures/leadconduit/${name}.json`, import.meta.url), 'utf8')) as { vars: { lead: Record<string, any> } };
      event.vars.lead.id = leadId;
      if (name === 'source-success') delete event.vars.lead.trustedform_cert_url;
      else event.vars.lead.state = { ...event.vars.lead.state, raw: 'Tex.' };
      return event;
    });
    const posted = await fetch(`${url}/v1/integrations/leadconduit/events`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(events) });
    expect(posted.status).toBe(200);
    expect(((await posted.json()) as { results: { status: string }[] }).results.map((r) => r.status)).toEqual(Array(9).fill('created'));

    const page = await open(`/console/leads/${leadId}`, { key });
    await page.waitForFunction(() => document.querySelector('[data-testid=timeline-count]')?.textContent?.startsWith('9 of 9'));
    await shot(page, '9-leadconduit-lead');
    const rows = await page.$$eval('.vlist .vrow', (els: any[]) => els.map((el) => ({
      cells: [...el.querySelectorAll(':scope > span')].map((x: any) => x.innerText),
      bar: { left: parseFloat(el.querySelector('.wf i').style.left), width: /([\d.]+)%/.exec(el.querySelector('.wf i').style.width ?? '')?.[1] },
    })));
    expect(rows.map((r) => r.cells[1])).toEqual(['source.accepted', 'filter.passed', 'recipient.delivered', 'recipient.failed', 'recipient.error', 'recipient.skipped', 'retry.attempted', 'feedback.received', 'feedback.sent']);
    expect(rows.map((r) => r.cells[2])).toEqual(['success', 'success', 'success', 'failure', 'error', 'skip', 'success', 'success', 'success']);
    expect(rows[0]!.cells[3]).toContain('leadconduit');
    // The waterfall: the filter and the first recipient ran 40 ms into the 950 ms source step and are drawn there,
    // inside it (not after it); the skip, the retry five minutes later and the feedback days later follow end to end.
    // Axis: source run 0–30,700 ms (the slow recipient), skip at 30,700, retry 420, feedback 80 and 210 → 31,410 ms.
    const pct = (ms: number) => (ms / 31_410) * 100;
    const near = (actual: number | string | undefined, expected: number) => expect(Number(actual)).toBeCloseTo(expected, 2);
    near(rows[0]!.bar.left, 0);
    near(rows[0]!.bar.width, pct(950));
    near(rows[1]!.bar.left, pct(40));
    near(rows[2]!.bar.left, pct(40));
    near(rows[2]!.bar.width, pct(640));
    near(rows[4]!.bar.left, pct(700));
    near(rows[6]!.bar.left, pct(30_700));
    expect(rows[2]!.bar.left + Number(rows[2]!.bar.width)).toBeLessThan(rows[0]!.bar.left + Number(rows[0]!.bar.width));
    // The outcome filter knows LeadConduit's skip.
    await page.select('.filters label:nth-of-type(2) select', 'skip');
    await page.waitForFunction(() => document.querySelector('[data-testid=timeline-count]')?.textContent?.startsWith('1 of 9'));
    expect(await timelineTypes(page)).toEqual(['recipient.skipped']);
    // The snapshot diff between two steps' typed values: the filter's lead against the source's.
    await page.select('.filters label:nth-of-type(2) select', '');
    await page.waitForFunction(() => document.querySelector('[data-testid=timeline-count]')?.textContent?.startsWith('9 of 9'));
    await (await page.$$('.vlist .vrow'))[1]!.click();
    await page.waitForSelector('[data-testid=snapshot-diff]');
    expect(await textOf(page, '.panel')).toContain('Against the previous step with a snapshot: source.accepted');
    const diff = await page.$$eval('[data-testid=snapshot-diff] tbody tr', (trs: any[]) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td: any) => td.innerText)));
    expect(diff.map((row) => row.slice(0, 3))).toEqual([['changed', 'state.raw', '"Texas"'], ['added', 'trustedform_cert_url', '']]);
    expect(diff[0]![3]).toBe('"Tex."');
    expect(diff[1]![3]).toContain('https://cert.trustedform.com/');
    // The next step changed nothing in the lead.
    await (await page.$$('.vlist .vrow'))[2]!.click();
    await page.waitForSelector('[data-testid=diff-none]');
  });

  it('opens a lead with 1,000 events and scrolls its virtualized timeline (time to interactive printed)', async () => {
    const page = await open('/console/', { key });
    await page.goto(`${url}/console/leads/lead_long`);
    await page.waitForFunction(() => document.body.dataset.timelineReady !== undefined, { timeout: 60_000 });
    const ready = Number(await page.evaluate(() => document.body.dataset.timelineReady));
    const nav = await page.evaluate(() => JSON.stringify((globalThis as any).performance.getEntriesByType('navigation')[0]));
    console.log(`console: lead with 1,000 events interactive ${ready.toFixed(0)} ms after navigation start (DOMContentLoaded ${JSON.parse(nav).domContentLoadedEventEnd.toFixed(0)} ms)`);
    expect(await textOf(page, '[data-testid=timeline-count]')).toContain('1,000 of 1,000');
    // Only the rows in view are in the DOM, and the last one is reachable.
    expect(await page.$$eval('.vlist .vrow', (els: any[]) => els.length)).toBeLessThan(60);
    await page.focus('.vlist');
    await page.keyboard.press('End');
    expect(await textOf(page, '.inspector h3')).toBeTruthy();
    // The list renders the rows of the new scroll position on its next frame: wait for the selected one to be drawn.
    await page.waitForSelector('.vrow.selected', { timeout: 10_000 });
    expect(await page.$eval('.vrow.selected', (el: any) => el.innerText)).toContain('feedback.received');
  });
});
