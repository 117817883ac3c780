import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

/**
 * A real Chromium that npm installs (@sparticuz/chromium ships the browser inside the package; nothing downloads at
 * run time), driven by puppeteer-core. Background networking is off: the machines have no network but loopback.
 */
export async function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: await chromium.executablePath(),
    // Not the package's Lambda defaults (--single-process, --disable-web-security): the console is tested with the
    // browser's normal security (CSP, same-origin) and one process per page, as a user's browser runs it.
    args: [
      '--no-sandbox', '--disable-setuid-sandbox', '--no-zygote', '--use-gl=angle', '--use-angle=swiftshader', '--in-process-gpu',
      '--font-render-hinting=none', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync',
      '--disable-domain-reliability', '--no-pings',
    ],
    headless: 'shell',
    defaultViewport: { width: 1280, height: 900 },
  });
}

/** What a page did wrong while a test drove it: uncaught errors, console errors, requests to another origin. */
export function watch(page: Page, origin: string): { problems: string[] } {
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${(error as Error).message}`));
  page.on('console', (message) => {
    // A failed fetch the page handles (a 403 it shows as "needs pii:read") is logged by Chromium as a resource error.
    if (message.type() === 'error' && !/status of (401|403|404)/.test(message.text())) problems.push(`console error: ${message.text()}`);
  });
  page.on('request', (request) => {
    const url = request.url();
    if (!url.startsWith(origin) && !url.startsWith('data:')) problems.push(`request to another origin: ${url}`);
  });
  return { problems };
}
