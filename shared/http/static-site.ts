import { existsSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { NotFoundError } from '../domain/errors.js';
import type { HttpResult } from './middleware.js';

/**
 * A single-page app served from one folder (the console, section 11): `index.html` for every page path (the app
 * routes in the browser, so a deep link reopens its view), content-hashed files under `assets/` cached for a
 * year. Every answer carries a strict Content-Security-Policy: the page may load only its own files and call
 * only this origin, so a key typed into it cannot be sent anywhere else.
 *
 * Which paths are files is what the build says, not what a path looks like: the bundle's manifest lists its files,
 * and only those are served as files. Every other path under /console/ is a page of the app, whatever it ends
 * with (a lead id `ana.lead@example.com` or `lead.v2` is a page, not a file), except under `assets/`, where an
 * unknown name is a stale or mistyped asset (404: a script tag must never receive the page's HTML).
 */
export const CONSOLE_PREFIX = '/console';

/** The bundle's list of its files (written by infra/console-bundle.ts beside index.html): `{"files": ["assets/app-….js", …]}`. */
export const CONSOLE_MANIFEST = 'manifest.json';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json', '.map': 'application/json',
};

export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

interface Asset {
  body: Buffer;
  contentType: string;
}

export class StaticSite {
  private readonly files = new Map<string, Asset>();

  /** Reads index.html and every file the manifest lists once (the console is ~100 KB); an absent folder serves nothing. */
  constructor(readonly dir: string) {
    const manifest = join(dir, CONSOLE_MANIFEST);
    if (!existsSync(manifest)) return;
    const { files } = JSON.parse(readFileSync(manifest, 'utf8')) as { files: string[] };
    for (const name of new Set(['index.html', ...files])) {
      this.files.set(name, { body: readFileSync(join(dir, name)), contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream' });
    }
  }

  get built(): boolean {
    return this.files.has('index.html');
  }

  /** The answer for a GET of `path` (the request's raw path, `/console…`). */
  serve(path: string): HttpResult {
    if (path === CONSOLE_PREFIX) return { statusCode: 308, headers: { location: `${CONSOLE_PREFIX}/`, ...SECURITY_HEADERS }, body: '' };
    const rest = path.slice(CONSOLE_PREFIX.length + 1);
    const asset = this.files.get(rest);
    if (asset && rest !== 'index.html') {
      const immutable = rest.startsWith('assets/');
      return this.answer(asset, immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    }
    if (rest.startsWith('assets/')) throw new NotFoundError(`No file ${path.slice(0, 200)}.`);
    const index = this.files.get('index.html');
    if (!index) throw new NotFoundError('The console is not built in this deployment.');
    return this.answer(index, 'no-cache');
  }

  private answer(asset: Asset, cacheControl: string): HttpResult {
    return {
      statusCode: 200,
      headers: { 'content-type': asset.contentType, 'cache-control': cacheControl, ...SECURITY_HEADERS },
      body: asset.body.toString('base64'),
      isBase64Encoded: true,
    };
  }
}
