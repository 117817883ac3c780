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

/** Sends bytes as they are (no client fixes them up) and reads the whole answer. */
async function rawExchange(baseUrl: string, bytes: string): Promise<{ status: number; headers: string; body: string }> {
  const { connect } = await import('node:net');
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(bytes));
    let text = '';
    socket.setEncoding('utf8').on('data', (chunk) => (text += chunk)).on('error', reject).on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head.toLowerCase(), body });
    });
  });
}

describe('requests the transport refuses are answered like every other refusal', () => {
  it('headers over the limit: 431 problem+json with an x-request-id, not a bare status line', async () => {
    const answer = await rawExchange(api.url, `GET /v1/events HTTP/1.1\r\nHost: x\r\nX-Pad: ${'a'.repeat(40_000)}\r\n\r\n`);
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.headers).toMatch(/x-request-id: [0-9a-f-]{36}/);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, type: 'https://leadlog.dev/problems/request-headers-too-large' });
  });

  it('a request HTTP cannot read (two Content-Lengths): 400 problem+json', async () => {
    const answer = await rawExchange(api.url, 'POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\nhello');
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 400, type: 'https://leadlog.dev/problems/malformed-request' });
  });

  it('//v1/events is a path, not a host: 404 naming the path as sent', async () => {
    const res = await fetch(`${api.url}//v1/events`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { detail: string }).detail).toContain('//v1/events');
  });

  it('a compressed JSON body: 415 naming the content coding (RFC 9110), not "not valid UTF-8"', async () => {
    const { key } = await api.newOrg();
    const { gzipSync } = await import('node:zlib');
    const res = await fetch(`${api.url}/v1/events`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify({ lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'custom.x', payload: {} })),
    });
    expect(res.status).toBe(415);
    expect(((await res.json()) as { detail: string }).detail).toContain('gzip');
  });
});
