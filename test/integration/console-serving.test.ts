import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConsole, CONSOLE_BUDGET_GZIP_BYTES, type ConsoleBuild } from '../../infra/console-bundle.js';
import { openApiDocument } from '../../shared/http/openapi.js';
import { startTestApi, type TestApi } from '../support/api.js';

/** How the console function serves the console and the API description, through the real local API. */
let api: TestApi;
let built: ConsoleBuild;

beforeAll(async () => {
  built = await buildConsole(process.env.CONSOLE_DIR!);
  // A file in the folder that the build did not make (an editor's backup, a stray copy) is not the console's.
  writeFileSync(join(process.env.CONSOLE_DIR!, 'notes.txt'), 'not part of the bundle');
  api = await startTestApi();
}, 60_000);
afterAll(() => api.close());

describe('the console function', () => {
  it('serves the API description without a key', async () => {
    const res = await api.request('GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(openApiDocument())));
  });

  it('serves the page with a strict CSP, hashed assets cached for a year, and index.html for every deep link', async () => {
    const redirect = await fetch(`${api.url}/console`, { redirect: 'manual' });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get('location')).toBe('/console/');
    const page = await api.request('GET', '/console/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'; script-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("connect-src 'self'");
    expect(page.headers.get('cache-control')).toBe('no-cache');
    const script = /src="(\/console\/assets\/app-[A-Z0-9]+\.js)"/.exec(page.text)![1]!;
    const asset = await api.request('GET', script);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    const deep = await api.request('GET', '/console/leads/lead_1?event=abc&tab=diff');
    expect(deep.text).toBe(page.text);
    const missing = await api.request('GET', '/console/assets/app-NOPE.js');
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
  });

  it('opens the app for every page path whatever it ends with (lead ids like ana.lead@example.com, lead.v2); files only from the bundle', async () => {
    const page = await api.request('GET', '/console/');
    for (const path of [
      '/console/leads/ana.lead@example.com', '/console/leads/ana.lead%40example.com', '/console/leads/lead.v2', '/console/leads/report.pdf',
      '/console/leads/app.js?event=e.1', '/console/leads/Jos%C3%A9%20Silva.json', '/console/events?flow_id=flow.v3', '/console/notes.txt',
      '/console/manifest.json', '/console/index.html',
    ]) {
      const res = await api.request('GET', path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toBe('text/html; charset=utf-8');
      expect(res.text, path).toBe(page.text);
    }
    // Under assets/ only the bundle's files exist: a stale hash is a 404, never the page's HTML as a script.
    for (const path of ['/console/assets/app-NOPE.js', '/console/assets/lead.v2', '/console/assets/']) {
      expect((await api.request('GET', path)).status, path).toBe(404);
    }
  });

  it(`ships the whole console within ${CONSOLE_BUDGET_GZIP_BYTES / 1024} KB gzipped, with nothing from another origin`, async () => {
    expect(built.gzipBytes).toBeLessThanOrEqual(CONSOLE_BUDGET_GZIP_BYTES);
    for (const file of built.files) {
      const res = await api.request('GET', `/console/${file}`);
      expect(res.text).not.toMatch(/(src|href)=["']?https?:\/\//);
      expect(res.text).not.toMatch(/@import\s+url\(["']?https?:/);
    }
  });
});
