import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp } from '../infra/local/cli.js';
import { namedQueries } from '../shared/definitions/archive.js';
import { formatResult, runArchiveSql, runNamedQuery, type ScanProgress } from '../infra/local/athena.js';
import { isNamedQuery } from '../infra/queries.js';

/**
 * `npm run athena -- "<SQL>"` or `npm run athena -- --query <name> --org <id> [--from yyyy-MM-dd] [--to yyyy-MM-dd]`,
 * with `--format table|csv|json`: SQL over the local Parquet archive (.data/archive) with DuckDB, where the
 * archive is the table `events`, as the Glue table is in Athena (plus rows accepted but not yet flushed).
 */
exitWithUsageOnHelp(`Usage: npm run athena -- "<SQL>" | --query <${namedQueries.map((q) => q.name).join('|')}> --org <id> [--from yyyy-MM-dd] [--to yyyy-MM-dd]  [--format table|csv|json]

  SQL over the local Parquet archive (.data/archive) with DuckDB: the view events (each event once) and the
  table events_raw (every copy), as in Athena. Rows accepted but not flushed yet are included.`);
const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  options: { query: { type: 'string' }, org: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, format: { type: 'string', default: 'table' }, 'data-dir': { type: 'string' } },
  allowPositionals: true,
});
const usage = `Usage: npm run athena -- "<SQL>" | --query <${namedQueries.map((q) => q.name).join('|')}> --org <id> [--from yyyy-MM-dd] [--to yyyy-MM-dd]  [--format table|csv|json]`;
const format = values.format as 'table' | 'csv' | 'json';
if (!['table', 'csv', 'json'].includes(format)) {
  console.error(usage);
  process.exit(2);
}
const archiveDir = join(values['data-dir'] ?? process.env.LEADLOG_DATA_DIR ?? '.data', 'archive');
const date = /^\d{4}-\d{2}-\d{2}$/;
/** A long scan reports every 5 s on stderr (stdout stays the result): how far, and about how long is left. */
const onProgress = ({ percentage, elapsedMs }: ScanProgress) => {
  const left = percentage > 0 ? ((elapsedMs / percentage) * (100 - percentage)) / 1000 : Number.NaN;
  console.error(`athena: ${percentage >= 0 ? `${percentage.toFixed(0)} % scanned` : 'scanning'}, ${(elapsedMs / 1000).toFixed(0)} s so far${Number.isFinite(left) ? `, about ${left.toFixed(0)} s left` : ''}`);
};
try {
  let result;
  if (values.query) {
    if (!isNamedQuery(values.query)) throw new Error(`unknown query '${values.query}'\n${usage}`);
    if (!values.org) throw new Error(`--query needs --org (every archive query names its org)\n${usage}`);
    for (const d of [values.from, values.to]) if (d !== undefined && !date.test(d)) throw new Error('--from and --to take yyyy-MM-dd');
    result = await runNamedQuery(archiveDir, values.query, values.org, values.from, values.to, { includeBuffered: true, onProgress });
  } else if (positionals[0]) {
    result = await runArchiveSql(archiveDir, positionals.join(' '), [], { includeBuffered: true, onProgress });
  } else {
    throw new Error(usage);
  }
  console.log(formatResult(result, format));
} catch (error) {
  console.error(`athena: ${(error as Error).message}`);
  process.exit(1);
}
