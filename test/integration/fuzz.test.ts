import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fuzzHostile } from '../fuzz/hostile.js';
import { fuzzRoutes } from '../fuzz/routes.js';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

describe('fuzzing every route (fixed seed; npm run fuzz for many more)', () => {
  it('answers only 2xx or 4xx problem+json, keeps serving, and stores nothing it rejected', async () => {
    const { orgId, key } = await api.newOrg();
    const reports = await fuzzRoutes(api, { runs: Number(process.env.FUZZ_RUNS ?? 150), seed: 20261123 }, key, orgId);
    expect(reports.filter((r) => r.failure)).toEqual([]);
    expect(reports.filter((r) => r.route !== 'storage').every((r) => r.runs >= 100)).toBe(true);
  }, 240_000);
});

describe('hostile input (issue #20; fixed seed; npm run fuzz -- --runs 20000 for the full run)', () => {
  it('on every surface: no 5xx, reported = stored, another tenant unaffected, the archive takes the next org', async () => {
    const runs = Number(process.env.HOSTILE_FUZZ_RUNS ?? 250);
    const report = await fuzzHostile(api, { runs, seed: 20261206, roundSize: 50 });
    expect(report.findings.map((f) => `${f.problem} | ${f.repro}`)).toEqual([]);
    expect(report.passed).toBe(runs);
    expect(report.rounds).toBe(Math.ceil(runs / 50));
  }, 180_000);
});
