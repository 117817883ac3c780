import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useConsoleRuntime } from '../support/console-runtime.js';

/**
 * The console's Reports page (contract section 13) in a real Chromium against the real `npm start` and its real
 * `GET /v1/reports/{name}` over the local archive: every report drawn (an SVG mark per row) beside its table, drill-down
 * from a bar (keyboard) and from a row to the explorer with the same filters, a deep link that reopens the view, the
 * CSV download, a phone-sized screen, and no page errors. CONSOLE_SCREENSHOTS=<folder> saves the README's picture.
 */
const SHOTS = process.env.CONSOLE_SCREENSHOTS;
declare const document: any;
declare const location: any;
const bench = useConsoleRuntime('leadlog-console-reports-', 'org_reports');
let url: string;
let key: string;
const HOUR = 3_600_000;
// A fixed window around the seeded events: the page and the direct API calls ask exactly the same range.
const now = Date.now();
const FROM = new Date(Math.floor((now - 30 * HOUR) / HOUR) * HOUR).toISOString();
// The API refuses a `to` more than 5 minutes ahead: a minute past the seeding.
const TO = new Date(Math.ceil((now + 60_000) / 1000) * 1000).toISOString();
const RANGE = `range=custom&from=${encodeURIComponent(FROM)}&to=${encodeURIComponent(TO)}`;
const FORMULA = '=HYPERLINK("http://evil.example","x")';

const REPORTS = ['source_performance', 'buyer_behaviour', 'rejection_reasons', 'step_duration', 'success_rates', 'lead_funnel', 'revenue_by_source', 'trends'];

async function post(events: Record<string, unknown>[]): Promise<void> {
  const response = await fetch(`${url}/v1/events/batch`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ events }),
  });
  const body = (await response.json()) as { results: { status: string }[] };
  expect(response.status).toBe(200);
  expect(body.results.every((r) => r.status === 'created'), JSON.stringify(body)).toBe(true);
}

interface ReportBody { name: string; columns: { name: string; type: string }[]; rows: Record<string, unknown>[] }
async function report(name: string, query = ''): Promise<ReportBody> {
  const response = await fetch(`${url}/v1/reports/${name}?from=${encodeURIComponent(FROM)}&to=${encodeURIComponent(TO)}${query}`, { headers: { authorization: `Bearer ${key}` } });
  expect(response.status, await response.clone().text()).toBe(200);
  return (await response.json()) as ReportBody;
}

/** A lead's run through a flow, from a source, to a buyer: the seeded story the reports count. */
function story(i: number, source: string, delivered: boolean, reason?: string): Record<string, unknown>[] {
  const at = (m: number) => new Date(now - 2 * HOUR - i * 3 * HOUR + m * 60_000).toISOString();
  const base = { lead_id: `lead_rep_${i}`, source_type: 'internal', source, flow_id: 'flow_rep', external_event_id: undefined };
  const events: Record<string, unknown>[] = [
    { ...base, event_type: 'product_viewed', occurred_at: at(0), payload: { product_id: 'p1', product_name: 'Course', category: 'edu' } },
    { ...base, event_type: 'source.submitted', step_id: 'intake', occurred_at: at(1), timing: { duration_ms: 100 + i * 10 }, payload: {} },
  ];
  if (!reason || delivered) events.push({ ...base, event_type: 'source.accepted', step_id: 'intake', occurred_at: at(2), outcome: 'success', timing: { duration_ms: 50 }, payload: {} });
  if (delivered) {
    events.push({ ...base, event_type: 'recipient.delivered', step_id: 'crm', entity_id: 'buyer_one', occurred_at: at(3), outcome: 'success', timing: { duration_ms: 400 }, payload: { price: 10, currency: 'USD' } });
    events.push({ ...base, event_type: 'purchase_completed', occurred_at: at(4), payload: { product_id: 'p1', product_name: 'Course', category: 'edu', amount: 99.5, currency: 'USD', payment_method: 'card' } });
  } else {
    events.push({ ...base, event_type: 'recipient.failed', step_id: 'crm', entity_id: 'buyer_two', occurred_at: at(3), outcome: 'failure', reason: reason ?? 'Duplicate', timing: { duration_ms: 900 }, payload: {} });
  }
  return events.map(({ external_event_id: _, ...e }) => e);
}

const open = (path: string, options: { width?: number } = {}): Promise<Page> => bench.open(path, { ...options, timeoutMs: 15_000 });

/** The table's rows as cell texts, once the report has loaded. */
async function table(page: Page): Promise<string[][]> {
  await page.waitForSelector('[data-testid=report-table], [data-testid=report] .state.empty');
  return page.$$eval('[data-testid=report-table] tbody tr', (trs: any[]) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, -1).map((td: any) => td.innerText)));
}

beforeAll(async () => {
  ({ url, key } = bench);
  // alpha: 3 leads, 2 accepted and delivered to buyer_one, 1 rejected by buyer_two with a formula-like reason; beta: 2 leads,
  // 1 delivered, 1 rejected (Duplicate). 5 events per delivered lead, 3 per rejected one: 21.
  await post([...story(0, 'alpha', true), ...story(1, 'alpha', true), ...story(2, 'alpha', false, FORMULA), ...story(3, 'beta', true), ...story(4, 'beta', false, 'Duplicate')]);
  // The reports read the archive: wait until every seeded event is in it.
  const archived = async () => (await report('trends')).rows.reduce((n, r) => n + Number(r.events), 0);
  for (const started = Date.now(); (await archived()) !== 21;) {
    if (Date.now() - started > 60_000) throw new Error(`the archive holds ${await archived()} of the 21 seeded events after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}, 180_000);

describe('the Reports page in a real browser', () => {
  it('draws every report as a chart with one SVG mark per row (per outcome and interval for trends) beside a table of the same rows', async () => {
    const page = await open(`/console/reports?report=source_performance&${RANGE}`);
    for (const name of REPORTS) {
      await page.goto(`${url}/console/reports?report=${name}&${RANGE}`);
      await page.waitForFunction((n: string) => document.querySelector('[data-testid=report]')?.dataset.report === n, {}, name);
      const api = await report(name);
      const rows = await table(page);
      expect(rows, name).toHaveLength(api.rows.length);
      expect(api.rows.length, `${name} has rows`).toBeGreaterThan(0);
      // The first column of each row, as the API ordered them.
      const first = api.columns[0]!.name;
      const kind = await page.$eval('[data-testid=report-chart]', (el: any) => el.dataset.kind);
      const marks = await page.$$eval('[data-testid=report-chart] svg [data-row]', (els: any[]) => els.length);
      if (name === 'trends') {
        expect(kind).toBe('stacked');
        await shot(page, '9-reports');
        expect(marks).toBe(new Set(api.rows.map((r) => `${r.bucket}|${r.outcome}`)).size);
        expect(await page.$$eval('.legend li', (lis: any[]) => lis.map((li) => li.innerText.trim()))).toEqual(['success', 'failure', 'no outcome']);
      } else {
        expect(marks, name).toBe(api.rows.length);
        if (api.columns[0]!.type === 'string') expect(rows.map((r) => r[0]), name).toEqual(api.rows.map((r) => String(r[first] ?? '—')));
      }
      if (name === 'source_performance') {
        expect(rows.map((r) => r.slice(0, 4))).toEqual([['alpha', '3', '2', '2'], ['beta', '2', '1', '1']]);
      }
    }
  });

  it('drills down from a bar with the keyboard to the explorer, with the report\'s filters and the bar\'s source', async () => {
    const page = await open(`/console/reports?report=source_performance&${RANGE}&flow_id=flow_rep`);
    await page.waitForSelector('[data-testid=report-chart] [tabindex="0"]');
    // The chart is one tab stop, right after the report's buttons.
    await page.focus('[data-testid=report] header button');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toMatch(/^alpha: submitted 3\b/);
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => /^beta: submitted 2\b/.test(document.activeElement?.getAttribute('aria-label') ?? ''));
    await page.keyboard.press('End'); // one bar after beta: none; Home goes back
    await page.keyboard.press('Home');
    await page.waitForFunction(() => /^alpha/.test(document.activeElement?.getAttribute('aria-label') ?? ''));
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => /^beta/.test(document.activeElement?.getAttribute('aria-label') ?? ''));
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid=explorer-count]');
    const link = new URL(page.url());
    expect(link.pathname).toBe('/console/events');
    expect(Object.fromEntries(link.searchParams)).toEqual({ flow_id: 'flow_rep', source: 'beta', from: FROM, to: TO, range: 'custom' });
    // beta's two leads: 2 views, 2 submissions, 1 acceptance, 1 delivery, 1 purchase, 1 rejection.
    expect(await page.$eval('[data-testid=explorer-count]', (el: any) => el.innerText)).toBe('8 events');
    expect(await page.$$eval('.vlist .vrow span:nth-child(4)', (els: any[]) => [...new Set(els.map((el) => el.innerText))])).toEqual(['beta']);
  });

  it('drills down from a table row (a buyer\'s rejections by reason) and from a stacked segment (failures in one day)', async () => {
    const page = await open(`/console/reports?report=rejection_reasons&${RANGE}&source=beta`);
    await table(page);
    await page.click('[data-testid=report-table] tbody tr a[data-testid=drill]');
    await page.waitForSelector('[data-testid=local-filters]');
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toMatchObject({ source: 'beta', reason: 'Duplicate' });
    await page.waitForFunction(() => /^1 events of \d+ loaded$/.test(document.querySelector('[data-testid=explorer-count]')?.textContent ?? ''));
    expect(await page.$eval('.vlist .vrow .type', (el: any) => el.innerText)).toBe('recipient.failed');

    await page.goto(`${url}/console/reports?report=trends&${RANGE}&interval=day`);
    await page.waitForSelector('[data-testid=report-chart] [data-outcome=failure]');
    const trends = await report('trends', '&interval=day');
    // The first failure segment in time: its day, within the report's range.
    const day = Math.min(...trends.rows.filter((r) => r.outcome === 'failure').map((r) => Date.parse(r.bucket as string)));
    await (await page.$$('[data-testid=report-chart] [data-outcome=failure]'))[0]!.click();
    await page.waitForSelector('[data-testid=explorer-count]');
    const query = Object.fromEntries(new URL(page.url()).searchParams);
    expect(query).toEqual({
      from: new Date(Math.max(day, Date.parse(FROM))).toISOString(), to: new Date(Math.min(day + 24 * HOUR, Date.parse(TO))).toISOString(), outcome: 'failure', range: 'custom',
    }); // no type: a segment sums event types
    expect(await page.$$eval('.vlist .vrow .badge', (els: any[]) => [...new Set(els.map((el) => el.innerText))])).toEqual(['failure']);
  });

  it('reopens the same view from its URL: report, grouping, filters, range and chart measure set with the controls', async () => {
    const page = await open(`/console/reports?${RANGE}`);
    await table(page);
    await page.select('select[name=report]', 'step_duration');
    await page.waitForFunction(() => document.querySelector('[data-testid=report]')?.dataset.report === 'step_duration');
    await page.select('select[name=group_by]', 'source');
    await page.waitForFunction(() => document.querySelector('[data-testid=report-table] thead th')?.textContent === 'source');
    await page.type('form[aria-label="Report filters"] input[name=flow_id]', 'flow_rep');
    await page.click('form[aria-label="Report filters"] button[type=submit]');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('flow_id') === 'flow_rep');
    // The filter reloads the report: its measure control is drawn again once the new rows have arrived (the old one
    // may still be on the page for a moment, so wait for the reload's request to settle first).
    await page.waitForNetworkIdle({ idleTime: 300 });
    await page.waitForSelector('select[name=measure]');
    await page.select('select[name=measure]', 'max_duration_ms');
    await page.waitForFunction(() => new URL(location.href).searchParams.get('measure') === 'max_duration_ms');
    const link = page.url();
    const before = await table(page);
    const labels = await page.$$eval('[data-testid=report-chart] [data-row]', (els: any[]) => els.map((el) => el.getAttribute('aria-label')));
    expect(labels[0]).toMatch(/max_duration_ms/);

    const again = await open(link.slice(url.length));
    expect(again.url()).toBe(link);
    expect(await table(again)).toEqual(before);
    expect(await again.$$eval('[data-testid=report-chart] [data-row]', (els: any[]) => els.map((el) => el.getAttribute('aria-label')))).toEqual(labels);
    expect(await again.$eval('select[name=report]', (el: any) => el.value)).toBe('step_duration');
    expect(await again.$eval('select[name=group_by]', (el: any) => el.value)).toBe('source');
    expect(await again.$eval('input[name=flow_id]', (el: any) => el.value)).toBe('flow_rep');
    expect(await again.$eval('[aria-pressed=true]', (el: any) => el.innerText)).toBe('Custom');
  });

  it('downloads the table as CSV: the API\'s columns and unrounded numbers, a formula-like reason prefixed with \'', async () => {
    const page = await open(`/console/reports?report=rejection_reasons&${RANGE}`);
    await table(page);
    const folder = mkdtempSync(join(tmpdir(), 'leadlog-report-csv-'));
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: folder });
    await page.click('[data-testid=report-csv]');
    await expect.poll(() => readdirSync(folder).filter((f) => f.endsWith('.csv')), { timeout: 10_000 }).toHaveLength(1);
    const [file] = readdirSync(folder).filter((f) => f.endsWith('.csv'));
    expect(file).toMatch(/^rejection_reasons_\d{4}-\d\d-\d\d_\d{4}-\d\d-\d\d\.csv$/);
    const csv = readFileSync(join(folder, file!), 'utf8');
    const api = await report('rejection_reasons');
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(api.columns.map((c) => c.name).join(','));
    expect(lines).toHaveLength(api.rows.length + 2);
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""x"")",1,`);
    expect(csv).toContain(`Duplicate,1,${api.rows.find((r) => r.reason === 'Duplicate')!.share}`);
    expect(csv).not.toMatch(/(^|,|")=HYPERLINK/m);
  });

  it('is readable on a 390 px phone: nothing wider than the screen, the chart drawn to its width', async () => {
    const page = await open(`/console/reports?report=trends&${RANGE}&interval=hour`, { width: 390 });
    await page.waitForSelector('[data-testid=report-chart] svg [data-row]');
    await shot(page, '10-reports-phone');
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((el: any) => el.getBoundingClientRect().right > 390 && !el.closest('.table-scroll')).map((el: any) => `${el.tagName}.${el.className?.baseVal ?? el.className} ${Math.round(el.getBoundingClientRect().right)}`).slice(0, 12));
    expect(wide).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    expect(await page.$eval('[data-testid=report-chart] svg', (el: any) => el.getBoundingClientRect().width)).toBeLessThanOrEqual(390);
  });
});

async function shot(page: Page, name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`) as `${string}.png` });
}
