import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, HTTPRequest, Page } from 'puppeteer-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { freePort } from '../../infra/local/dynamo.js';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { DynamoApiKeyStore } from '../../shared/adapters/dynamo-api-key-store.js';
import { createApiKey } from '../../shared/domain/api-keys.js';
import type { Scope } from '../../shared/definitions/routes.js';
import { launchBrowser, watch } from './browser.js';
import { startRuntime, stopRuntime } from './runtime.js';

export interface OpenOptions {
  /** The key typed at sign-in (default: the dev key); false: the page is left at the sign-in form. */
  key?: string | false;
  width?: number;
  /** Puppeteer's default timeout for the page's waits. */
  timeoutMs?: number;
  /** Sees each request first: true when it answered or aborted it, false to let it through. */
  intercept?: (request: HTTPRequest) => Promise<boolean>;
}

export interface ConsoleRuntime {
  /** Set once the file's hooks run (the fixture's beforeAll runs first). */
  url: string;
  key: string;
  browser: Browser;
  /** A key of the dev org with these scopes only. */
  keyWith(scopes: Scope[]): Promise<string>;
  /** A new page on `path`, signed in unless told not to, watched for page errors and requests elsewhere. */
  open(path: string, options?: OpenOptions): Promise<Page>;
  /** Watches a page the test made itself (another context, a second tab) as `open` does. */
  track(page: Page): { problems: string[] };
}

/**
 * The console's browser tests' bench, one per test file: the real `npm start` (its own data folder, port and dev org)
 * and a real Chromium; after the file, both are stopped and no page it opened may have had an error, a console error
 * or a request to another origin.
 */
export function useConsoleRuntime(prefix: string, orgId: string): ConsoleRuntime {
  let runtime: ReturnType<typeof startRuntime> | undefined;
  let dynamoEndpoint = '';
  const pages: { problems: string[] }[] = [];
  const bench: ConsoleRuntime = {
    url: '',
    key: '',
    browser: undefined as unknown as Browser,
    keyWith: async (scopes) => {
      const keys = new DynamoApiKeyStore(createDocumentClient({ endpoint: dynamoEndpoint }), 'leadlog-local-control');
      return (await createApiKey(keys, { orgId, scopes, now: Date.now() })).key;
    },
    track: (page) => {
      const watched = watch(page, bench.url);
      pages.push(watched);
      return watched;
    },
    open: async (path, options = {}) => {
      const page = await bench.browser.newPage();
      const watched = bench.track(page);
      if (options.timeoutMs) page.setDefaultTimeout(options.timeoutMs);
      if (options.width) await page.setViewport({ width: options.width, height: 844 });
      if (options.intercept) {
        await page.setRequestInterception(true);
        page.on('request', (request) => {
          void options.intercept!(request).then(
            (handled) => (handled ? undefined : request.continue()),
            (error: unknown) => { watched.problems.push(`interception failed: ${String(error)}`); return request.abort(); },
          );
        });
      }
      await page.goto(`${bench.url}${path}`);
      const signIn = options.key ?? bench.key;
      if (signIn !== false) {
        await page.waitForSelector('#api-key');
        await page.type('#api-key', signIn);
        await page.click('button[type=submit]');
        await page.waitForSelector('header.top');
      }
      return page;
    },
  };
  beforeAll(async () => {
    const dataDir = mkdtempSync(join(tmpdir(), prefix));
    runtime = startRuntime(dataDir, await freePort(), { DEV_ORG_ID: orgId });
    await runtime.ready;
    const info = JSON.parse(readFileSync(join(dataDir, 'runtime.json'), 'utf8')) as { url: string; dynamoEndpoint: string };
    bench.url = info.url;
    dynamoEndpoint = info.dynamoEndpoint;
    bench.key = readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
    bench.browser = await launchBrowser();
  }, 180_000);
  afterAll(async () => {
    await bench.browser?.close();
    if (runtime) await stopRuntime(runtime.child);
    expect(pages.flatMap((p) => p.problems)).toEqual([]);
  });
  return bench;
}
