import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ReportName } from '../definitions/reports.js';

const here = dirname(fileURLToPath(import.meta.url));
/** queries/ beside the bundled handler (the query function's bundle copies it: infra/stack.ts), else the repository's. */
const QUERY_DIR = [join(here, 'queries'), join(here, '..', '..', 'queries')].find((dir) => existsSync(dir)) ?? join(here, '..', '..', 'queries');
const cache = new Map<ReportName, string>();

/** A report's SQL, queries/<name>.sql: the same file Athena's named query and `npm run athena -- --query` run. */
export function reportSql(name: ReportName): string {
  let sql = cache.get(name);
  if (sql === undefined) cache.set(name, (sql = readFileSync(join(QUERY_DIR, `${name}.sql`), 'utf8')));
  return sql;
}
