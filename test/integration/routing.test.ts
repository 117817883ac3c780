import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '../support/api.js';

let api: TestApi;
beforeAll(async () => {
  api = await startTestApi();
});
afterAll(() => api.close());

describe('requests no route matches (the $default catch-all, locally as in AWS)', () => {
  it('answer 405 problem+json with Allow on a known path', async () => {
    const { key } = await api.newOrg();
    for (const [method, path, allow] of [['DELETE', '/v1/events', 'GET, POST'], ['POST', '/v1/health', 'GET'], ['PUT', '/v1/leads/lead_1', 'DELETE, GET'], ['DELETE', '/v1/leads/lead_1/events', 'GET']] as const) {
      const res = await api.request(method, path, { key });
      expect(res.status, `${method} ${path}`).toBe(405);
      expect(res.headers.get('allow')).toBe(allow);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.headers.get('x-request-id')).toBeTruthy();
      expect(res.body).toMatchObject({ status: 405, type: 'https://leadlog.dev/problems/method-not-allowed' });
    }
  });

  it('answer 404 problem+json on an unknown path, with or without a key', async () => {
    for (const key of [undefined, (await api.newOrg()).key]) {
      const res = await api.request('GET', '/v2/nothing/here', key ? { key } : {});
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(res.body).toMatchObject({ status: 404, type: 'https://leadlog.dev/problems/not-found' });
    }
  });
});
