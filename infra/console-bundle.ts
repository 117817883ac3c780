import { build, buildSync, type BuildOptions, type Metafile } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { CONSOLE_MANIFEST, CONSOLE_PREFIX } from '../shared/http/static-site.js';

/**
 * Builds the console (console/src, Preact) into a folder: `assets/app-<hash>.js` and `.css`, and an `index.html`
 * that loads them from /console/assets/. The same build serves `npm start` (into the data folder) and the deployed
 * stack (copied beside the console function's handler at synth). Everything ships in the bundle: no CDN, no fonts.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const CONSOLE_ENTRY = join(ROOT, 'console', 'src', 'main.tsx');

/** The whole console, gzipped, must stay within this (issue #14). */
export const CONSOLE_BUDGET_GZIP_BYTES = 150 * 1024;

export interface ConsoleBuild {
  dir: string;
  files: string[];
  bytes: number;
  gzipBytes: number;
}

function options(outDir: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: { app: CONSOLE_ENTRY },
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome114', 'firefox121', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    legalComments: 'none',
    metafile: true,
    write: true,
    logLevel: 'warning',
  };
}

function finish(outDir: string, metafile: Metafile): ConsoleBuild {
  const outputs = Object.keys(metafile.outputs).map((path) => relative(outDir, path).split('\\').join('/'));
  const script = outputs.find((f) => f.endsWith('.js'))!;
  const style = outputs.find((f) => f.endsWith('.css'));
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>leadlog console</title>
<link rel="icon" href="data:,">
${style ? `<link rel="stylesheet" href="${CONSOLE_PREFIX}/${style}">\n` : ''}<script type="module" src="${CONSOLE_PREFIX}/${script}"></script>
</head>
<body>
<div id="app"><noscript>The leadlog console needs JavaScript.</noscript></div>
</body>
</html>
`;
  writeFileSync(join(outDir, 'index.html'), html);
  // The files the console function serves as files (shared/http/static-site.ts); every other path is a page of the app.
  writeFileSync(join(outDir, CONSOLE_MANIFEST), `${JSON.stringify({ files: outputs })}\n`);
  const files = ['index.html', ...outputs];
  const contents = files.map((f) => readFileSync(join(outDir, f)));
  return {
    dir: outDir, files,
    bytes: contents.reduce((n, c) => n + c.length, 0),
    gzipBytes: contents.reduce((n, c) => n + gzipSync(c, { level: 9 }).length, 0),
  };
}

/** Builds into `outDir` (emptied first). */
export async function buildConsole(outDir: string): Promise<ConsoleBuild> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = await build(options(outDir));
  return finish(outDir, result.metafile);
}

/** The same, synchronously: CDK constructs are built synchronously. */
export function buildConsoleSync(outDir: string): ConsoleBuild {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const result = buildSync(options(outDir));
  return finish(outDir, result.metafile);
}
