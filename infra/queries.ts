import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { namedQueries, type NamedQueryName } from '../shared/definitions/archive.js';

export const QUERY_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'queries');

/** The SQL of a named query (queries/<name>.sql): one file, run by Athena (CDK named query) and DuckDB alike. */
export function namedQuerySql(name: NamedQueryName): string {
  return readFileSync(join(QUERY_DIR, `${name}.sql`), 'utf8');
}

export function isNamedQuery(name: string): name is NamedQueryName {
  return namedQueries.some((q) => q.name === name);
}
