import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp } from '../infra/local/cli.js';
import { KEY_HEADROOM } from '../shared/definitions/scale.js';
import { backfillDays, BACKFILL_EVENTS_PER_SECOND, PLAN, PLAN_BEFORE, runModel, runScenario, SCENARIOS, type ScenarioResult } from '../shared/domain/scale-model.js';

/**
 * `npm run scale-model [-- --json]`: the scale model of shared/domain/scale-model.ts (contract section 15,
 * docs/scale.md): per scenario and component the hottest key and its rate against the limit, a before/after for the
 * 10,000 events/s org, and one closing line `N passed, M failed` (exit 1 when anything failed).
 */
exitWithUsageOnHelp(`Usage: npm run scale-model [-- --json]

  One second of synthetic traffic per scenario (one org at 10, 100, 1,000 and 10,000 events/s; a 10× burst of the
  10,000/s org; a one-year backfill; 10,000 orgs at 1 event/s), run through the project's key functions; prints per
  component the hottest key, its rate, the limit (or quota, after the increases docs/scale.md lists) and PASS when it
  uses at most ${KEY_HEADROOM * 100} % of it. First "before" (no index shards, one alert total per bucket, the old
  stream settings) for the 10,000/s org, not counted; then every scenario under the project's plan.
  --json prints the results as JSON instead. Ends with "N passed, M failed"; exits 1 when anything failed.`);
const { values } = parseArgs({ args: process.argv.slice(2), options: { json: { type: 'boolean', default: false } } });

const target = SCENARIOS.find((scenario) => scenario.eventsPerSecond === 10_000 && scenario.orgs === 1)!;
const before = runScenario(target, PLAN_BEFORE);
const results = runModel(PLAN);
const rows = results.flatMap((result) => result.rows);
const failed = rows.filter((row) => !row.pass).length;

if (values.json) {
  console.log(JSON.stringify({ before, results, passed: rows.length - failed, failed }, null, 2));
} else {
  const pad = (text: string, width: number) => (text.length >= width ? text : text + ' '.repeat(width - text.length));
  const print = (result: ScenarioResult, label: string, counted = true) => {
    const { stream } = result;
    console.log(`\n## ${label}${counted && result.scenario.target ? ' (section 15 target)' : ''}`);
    console.log(`   stream: ${stream.shardsNew} shards new, ${stream.shardsGrown} grown; ${stream.eventsPerBatch.toFixed(1)} events a batch, ${Math.round(stream.batchesPerSecond)} batches/s; up to ${stream.addedLatencySeconds} s added latency`);
    for (const row of result.rows) {
      console.log(`   ${pad(row.pass ? 'PASS' : 'FAIL', 5)}${pad(row.component, 52)}${pad(row.key, 62)}${pad(row.rate, 26)}${pad(`${Math.round(row.share * 100)} % of ${row.limit}`, 0)}`);
    }
  };
  console.log(`Scale model: per key, pass = at most ${KEY_HEADROOM * 100} % of the limit. Plan: index shards for the org's peak, ${PLAN.alertShards} alert total shards, stream batches of ${PLAN.stream.batchSize}, window ${PLAN.stream.windowSeconds} s, parallelization ${PLAN.stream.parallelization}.`);
  print(before, `BEFORE (not counted): ${target.name}, 1 shard, 1 alert total, batches of ${PLAN_BEFORE.stream.batchSize} every ${PLAN_BEFORE.stream.windowSeconds} s`, false);
  for (const result of results) print(result, result.scenario.name);
  console.log(`\nBackfill: a year of an org's history (${(100).toLocaleString('en-US')} events/s on average) posted at ${BACKFILL_EVENTS_PER_SECOND.toLocaleString('en-US')} events/s in batches of 100 takes ${backfillDays().toFixed(1)} days; its windows ended over an hour ago, so it never raises an alert.`);
  console.log(`${rows.length - failed} passed, ${failed} failed`);
}
process.exit(failed > 0 ? 1 : 0);
