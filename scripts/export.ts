import { createWriteStream } from 'node:fs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp, requireRunningServer } from '../infra/local/cli.js';

/**
 * `npm run export -- --format csv --from … --to … [--type …]`: creates an export on the running `npm start`
 * (POST /v1/exports), shows its progress, and downloads the file when it is ready.
 */
const usage = `Usage: npm run export -- --format csv|jsonl|parquet --from <ISO date-time> --to <ISO date-time>
                         [--type <types, e.g. purchase_completed,source.*>] [--source <name>] [--outcome success|failure|error]
                         [--lead <lead id>] [--flow <flow id>] [--out <file>] [--key <API key>]

  Exactly the org's matching events, each once, masked as reads without pii:read, from the archive. Uses the running
  npm start (LEADLOG_DATA_DIR, default .data) and its dev key unless --key or LEADLOG_KEY is given; writes
  ./export-<id>.<format> unless --out names a file.`;
exitWithUsageOnHelp(usage);
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    format: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' }, type: { type: 'string' }, source: { type: 'string' },
    outcome: { type: 'string' }, lead: { type: 'string' }, flow: { type: 'string' }, out: { type: 'string' }, key: { type: 'string' },
  },
});
if (!values.format || !values.from || !values.to) {
  console.error(usage);
  process.exit(2);
}
const dataDir = process.env.LEADLOG_DATA_DIR ?? '.data';
const { url } = requireRunningServer(dataDir, 'export');
const key = values.key ?? process.env.LEADLOG_KEY ?? readFileSync(join(dataDir, 'dev-api-key'), 'utf8').trim();
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
const filter = Object.fromEntries(Object.entries({
  from: values.from, to: values.to, type: values.type, source: values.source, outcome: values.outcome, lead_id: values.lead, flow_id: values.flow,
}).filter(([, v]) => v !== undefined));

interface Job { id: string; status: string; rows: number; bytes: number; url?: string; error?: string; progress?: { parts_done: number; parts: number }; errors?: { path: string; message: string }[]; detail?: string }

const created = await fetch(`${url}/v1/exports`, { method: 'POST', headers, body: JSON.stringify({ format: values.format, filter }) });
let job = (await created.json()) as Job;
if (created.status !== 202) {
  console.error(`export: ${created.status} ${job.detail ?? ''}`);
  for (const e of job.errors ?? []) console.error(`  ${e.path}: ${e.message}`);
  process.exit(1);
}
console.log(`export: ${job.id} queued (${values.format})`);
const started = Date.now();
let lastPrinted = 0;
while (job.status === 'queued' || job.status === 'running') {
  await new Promise((r) => setTimeout(r, 500));
  job = (await (await fetch(`${url}/v1/exports/${job.id}`, { headers })).json()) as Job;
  if (Date.now() - lastPrinted >= 3000) {
    lastPrinted = Date.now();
    const elapsed = (Date.now() - started) / 1000;
    const p = job.progress;
    const left = p && p.parts_done > 0 ? ((elapsed / p.parts_done) * (p.parts - p.parts_done)).toFixed(0) : '?';
    console.log(`export: ${job.status}, ${job.rows.toLocaleString()} rows so far${p ? `, ${p.parts_done}/${p.parts} days` : ''}, ${elapsed.toFixed(0)} s so far, about ${left} s left`);
  }
}
if (job.status !== 'succeeded' || !job.url) {
  console.error(`export: ${job.status}: ${job.error ?? 'no file'}`);
  process.exit(1);
}
const out = values.out ?? `export-${job.id}.${values.format}`;
const file = await fetch(job.url);
if (!file.ok || !file.body) {
  console.error(`export: the download answered ${file.status}`);
  process.exit(1);
}
await pipeline(Readable.fromWeb(file.body as never), createWriteStream(out));
console.log(`export: ${job.rows.toLocaleString()} rows, ${job.bytes.toLocaleString()} bytes → ${out}`);
