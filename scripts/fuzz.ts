import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { exitWithUsageOnHelp, progress } from '../infra/local/cli.js';
import fc from 'fast-check';
import { ensureTables, startDynamoLocal } from '../infra/local/dynamo.js';
import { localEnvironment } from '../infra/local/settings.js';
import { configurePseudonymKey } from '../shared/domain/masking.js';

/**
 * `npm run fuzz -- --runs N [--seed S] [--findings FILE]`: the hostile-input fuzz (test/fuzz/hostile.ts, N cases over
 * every surface) against a fresh in-memory DynamoDB Local, then the route fuzzer (N/100 cases per route) and the leak
 * property (N/100 cases each). Progress every 5 s; ends with `N passed, M failed`; exits 1 on any failure.
 */
exitWithUsageOnHelp(`Usage: npm run fuzz -- [--runs N] [--seed S] [--findings FILE] [--only hostile|routes]

  The hostile-input fuzz: N cases (default 1000) of lone surrogates, control characters, huge strings, deep and
  wide objects, odd path ids, absurd ranges and cursors, formula cells and wildcard patterns, on single and batch
  ingest, signed webhooks of every provider, every route's path and query parameters, range bodies and the rules
  file; each case checks: no 5xx, 4xx are problem+json, reported = stored, another tenant's read answers within
  3 s, and the archive still takes the next org's row. Then the route fuzzer and the leak property, N/100 each.
  --seed replays a run; --findings writes every failure (grouped, with a repro) as Markdown; --show
  FROM..TO prints those cases of the seed's run without running them; --start I runs from case I (with
  --runs 1: that case alone).
  Prints progress every 5 s and ends with "N passed, M failed"; exits 1 when anything failed.`);
const { values } = parseArgs({
  args: process.argv.slice(2),
  options: { runs: { type: 'string', default: '1000' }, seed: { type: 'string' }, findings: { type: 'string' }, only: { type: 'string' }, show: { type: 'string' }, start: { type: 'string' } },
});
const runs = Number(values.runs);
if (values.show) {
  // Prints the cases of a run without running them: --show 38..50 with the run's --seed.
  const [from, to] = values.show.split('..').map(Number) as [number, number];
  const { caseAt, describeCase } = await import('../test/fuzz/hostile.js');
  for (let i = from; i <= (to ?? from); i++) console.log(i, describeCase(caseAt(Number(values.seed ?? 0), i)));
  process.exit(0);
}
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`--runs must be a positive whole number, not ${values.runs}`);
  process.exit(1);
}
const seed = values.seed ? Number(values.seed) : Date.now() % 2 ** 31;
const dynamo = await startDynamoLocal();
try {
  const tableNames = await ensureTables(dynamo.endpoint, 'leadlog-fuzz');
  Object.assign(process.env, localEnvironment(dynamo.endpoint, tableNames, mkdtempSync(join(tmpdir(), 'leadlog-fuzz-'))), { POWERTOOLS_LOG_LEVEL: 'SILENT' });
  configurePseudonymKey(process.env.PSEUDONYM_SECRET!); // as npm start does, before anything is masked
  const { startTestApi } = await import('../test/support/api.js');
  const api = await startTestApi();
  const started = performance.now();
  let passed = 0;
  let failed = 0;
  const lines: string[] = [];

  if (values.only !== 'routes') {
    const { fuzzHostile } = await import('../test/fuzz/hostile.js');
    let failedSoFar = 0;
    const ticker = progress('hostile fuzz', runs, { print: (line) => console.log(`${line}, ${failedSoFar} failed so far`) });
    const heartbeat = setInterval(() => ticker.tick(0), 5000);
    const report = await fuzzHostile(api, { runs, seed, start: Number(values.start ?? 0), roundSize: 250, onCase: (caseFailed) => { failedSoFar += caseFailed ? 1 : 0; ticker.tick(); } });
    clearInterval(heartbeat);
    ticker.done();
    passed += report.passed;
    failed += report.failed;
    console.log(`hostile fuzz: ${report.passed} passed, ${report.failed} failed in ${report.rounds} rounds; probe tenant ${report.probe.baselineMs.toFixed(0)} ms before, at most ${report.probe.maxMs.toFixed(0)} ms during (×${report.probe.maxRatio.toFixed(1)})`);
    for (const f of report.findings.sort((a, b) => b.count - a.count)) {
      console.log(`FAIL ×${f.count} [${f.surface}/${f.cls}] ${f.problem.slice(0, 300)}\n     repro: ${f.repro.slice(0, 300)}`);
      lines.push(`- [ ] **${f.surface} / ${f.cls}** (×${f.count}, first case ${f.firstIndex}, seed ${seed}): ${f.problem.replaceAll('\n', ' ')}\n  - repro: \`${f.repro.replaceAll('`', "'")}\``);
    }
  }

  if (values.only !== 'hostile') {
    const perProperty = Math.max(1, Math.ceil(runs / 100));
    const { fuzzRoutes, ROUTE_PROPERTY_COUNT } = await import('../test/fuzz/routes.js');
    const { orgId, key } = await api.newOrg();
    const ticker = progress('route fuzz', perProperty * ROUTE_PROPERTY_COUNT);
    const reports = await fuzzRoutes(api, { runs: perProperty, seed, onCase: () => ticker.tick() }, key, orgId);
    ticker.done();
    for (const report of reports) {
      if (report.failure) {
        failed++;
        lines.push(`- [ ] **route fuzz ${report.route}** (seed ${seed}): ${report.failure.replaceAll('\n', ' ')}`);
      }
      passed += report.route === 'storage' ? 0 : report.runs - (report.failure ? 1 : 0);
      console.log(`${report.failure ? 'FAIL' : 'ok  '} ${report.route.padEnd(48)} ${report.runs} cases${report.failure ? `\n${report.failure}` : ''}`);
    }
    const { eventFieldsProperty, idsProperty, mappingsProperty, leadConduitProperty } = await import('../test/fuzz/leak.js');
    const { leadconduitFixtures } = await import('../test/fixtures/leadconduit/validator.js');
    for (const [name, property] of [['leak: every event field', eventFieldsProperty], ['leak: every id', idsProperty], ['leak: every provider mapping', mappingsProperty],
      ['leak: LeadConduit events', leadConduitProperty(Object.values(leadconduitFixtures()))]] as const) {
      const result = await fc.check(property as fc.IProperty<unknown>, { numRuns: perProperty, seed });
      passed += result.numRuns - (result.failed ? 1 : 0);
      if (result.failed) {
        failed++;
        lines.push(`- [ ] **${name}** (seed ${seed}): ${String(result.errorInstance).slice(0, 600)}`);
      }
      console.log(`${result.failed ? 'FAIL' : 'ok  '} ${name.padEnd(48)} ${result.numRuns} cases${result.failed ? `\n${String(result.errorInstance).slice(0, 1500)}` : ''}`);
    }
  }
  await api.close();

  if (values.findings) writeFileSync(values.findings, `# npm run fuzz -- --runs ${runs} --seed ${seed}\n\n${lines.length > 0 ? lines.join('\n') : 'No counterexample.'}\n`);
  console.log(`\n${passed} passed, ${failed} failed (${((performance.now() - started) / 1000).toFixed(0)} s, seed ${seed})`);
  process.exitCode = failed > 0 ? 1 : 0;
} finally {
  await dynamo.stop();
}
// The stream, DuckDB and keep-alive sockets of the run would hold the process open for minutes.
process.exit();
