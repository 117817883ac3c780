import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp, progress } from '../infra/local/cli.js';
import fc from 'fast-check';
import { ensureTables, startDynamoLocal } from '../infra/local/dynamo.js';
import { localEnvironment } from '../infra/local/settings.js';

/**
 * `npm run fuzz -- --runs N [--seed S]`: the route fuzzer of the test suite, N cases per route, against a
 * fresh in-memory DynamoDB Local, then the leak property (no PII survives masking), N cases each.
 * Prints the count tried and any counterexample; exits 1 on a failure.
 */
exitWithUsageOnHelp(`usage: npm run fuzz -- [--runs N] [--seed S]

  Fuzzes every route (N cases each, default 1000) against a fresh in-memory DynamoDB Local, signed webhooks
  included, then the leak property (no planted PII survives masking), N cases. --seed replays a run.
  Prints progress every 5 s with an estimate of the time left; exits 1 with the counterexample on a failure.`);
const { values } = parseArgs({ args: process.argv.slice(2), options: { runs: { type: 'string', default: '1000' }, seed: { type: 'string' } } });
const runs = Number(values.runs);
const seed = values.seed ? Number(values.seed) : Date.now() % 2 ** 31;
const dynamo = await startDynamoLocal();
try {
  const tableNames = await ensureTables(dynamo.endpoint, 'leadlog-fuzz');
  Object.assign(process.env, localEnvironment(dynamo.endpoint, tableNames, mkdtempSync(join(tmpdir(), 'leadlog-fuzz-'))), { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  const { startTestApi } = await import('../test/support/api.js');
  const { fuzzRoutes } = await import('../test/fuzz/routes.js');
  const api = await startTestApi();
  const { orgId, key } = await api.newOrg();
  const started = performance.now();
  const { ROUTE_PROPERTY_COUNT } = await import('../test/fuzz/routes.js');
  const ticker = progress('fuzz', runs * ROUTE_PROPERTY_COUNT);
  const reports = await fuzzRoutes(api, { runs, seed, onCase: () => ticker.tick() }, key, orgId);
  ticker.done();
  await api.close();
  let total = 0;
  for (const report of reports) {
    total += report.route === 'storage' ? 0 : report.runs;
    console.log(`${report.failure ? 'FAIL' : 'ok  '} ${report.route.padEnd(40)} ${report.runs} cases${report.failure ? `\n${report.failure}` : ''}`);
  }
  const { eventFieldsProperty, mappingsProperty } = await import('../test/fuzz/leak.js');
  for (const [name, property] of [['leak: every event field', eventFieldsProperty], ['leak: every provider mapping', mappingsProperty]] as const) {
    const result = await fc.check(property as fc.IProperty<unknown>, { numRuns: runs, seed });
    total += result.numRuns;
    if (result.failed) reports.push({ route: name, runs: result.numRuns, failure: String(result.errorInstance ?? result.counterexample).slice(0, 1500) });
    console.log(`${result.failed ? 'FAIL' : 'ok  '} ${name.padEnd(40)} ${result.numRuns} cases${result.failed ? `\n${String(result.errorInstance).slice(0, 1500)}` : ''}`);
  }
  console.log(`\n${total} cases in ${((performance.now() - started) / 1000).toFixed(0)} s, seed ${seed}: ${reports.some((r) => r.failure) ? 'FAILED' : 'no counterexample'}`);
  process.exitCode = reports.some((r) => r.failure) ? 1 : 0;
} finally {
  await dynamo.stop();
}
