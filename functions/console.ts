import { join } from 'node:path';
import { loadConfig } from '../shared/config.js';
import { builtOnFirstCall, createHttpHandler } from '../shared/http/handler.js';
import { json } from '../shared/http/middleware.js';
import { openApiDocument } from '../shared/http/openapi.js';
import { StaticSite } from '../shared/http/static-site.js';

/**
 * The public documents: the API description (GET /v1/openapi.json) and the console's pages and assets (section 11).
 * The console's files ship beside this module in Lambda (`console/`, copied there at synth) and are built into the
 * data folder by `npm start` locally (CONSOLE_DIR).
 */
export function createConsoleHandler(dir: string) {
  const site = new StaticSite(dir);
  return createHttpHandler('console', {
    'GET /v1/openapi.json': async () => json(200, openApiDocument(), { 'cache-control': 'public, max-age=300' }),
    'GET /console': async (event) => site.serve(event.rawPath),
    'GET /console/{proxy+}': async (event) => site.serve(event.rawPath),
  });
}

export const handler = builtOnFirstCall(() =>
  createConsoleHandler(loadConfig('console').consoleDir ?? join(process.env.LAMBDA_TASK_ROOT ?? '.', 'console')),
);
