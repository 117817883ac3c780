import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { NotFoundError } from '../domain/errors.js';
import type { HttpResult } from './middleware.js';

/**
 * A single-page app served from one folder (the console, section 11): `index.html` for every page path (the app
 * routes in the browser, so a deep link reopens its view), content-hashed files under `assets/` cached for a
 * year. Every answer carries a strict Content-Security-Policy: the page may load only its own files and call
 * only this origin, so a key typed into it cannot be sent anywhere else.
 */
export const CONSOLE_PREFIX = '/console';

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

  /** Reads every file under `dir` once (the console is ~100 KB); an absent folder serves nothing. */
  constructor(readonly dir: string) {
    if (!existsSync(dir)) return;
    const walk = (folder: string) => {
      for (const name of readdirSync(folder)) {
        const path = join(folder, name);
        if (statSync(path).isDirectory()) walk(path);
        else this.files.set(relative(dir, path).split(sep).join('/'), { body: readFileSync(path), contentType: CONTENT_TYPES[extname(name)] ?? 'application/octet-stream' });
      }
    };
    walk(dir);
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
    if (rest.startsWith('assets/') || /\.[a-z0-9]{1,5}$/i.test(rest)) throw new NotFoundError(`No file ${path.slice(0, 200)}.`);
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
