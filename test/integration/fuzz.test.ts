import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
