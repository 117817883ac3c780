import { afterEach, describe, expect, it, vi } from 'vitest';

describe('a masking function whose pseudonym key cannot be read', () => {
  const saved = process.env.PSEUDONYM_SECRET;
  afterEach(() => {
    process.env.PSEUDONYM_SECRET = saved;
    vi.resetModules();
  });

  it('answers an HTTP call with a 503 problem+json (never a bare Lambda error) and runs nothing; other invocations fail', async () => {
    delete process.env.PSEUDONYM_SECRET;
    vi.resetModules();
    const { withPseudonymKey } = await import('../../shared/adapters/container.js');
    const handler = vi.fn(async (_event: unknown) => ({ statusCode: 200 }));
    const http = withPseudonymKey('query', handler);
    const answer = (await http({ rawPath: '/v1/events', requestContext: {} } as never)) as { statusCode: number; headers: Record<string, string>; body: string };
    expect(answer.statusCode).toBe(503);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.headers['retry-after']).toBeDefined();
    expect(JSON.parse(answer.body)).toMatchObject({ status: 503, type: 'https://leadlog.dev/problems/service-unavailable' });
    expect(handler).not.toHaveBeenCalled();
    await expect(withPseudonymKey('fanout', handler)({ Records: [] } as never)).rejects.toThrow();
    // Once the key is there, the next call reads it and runs.
    process.env.PSEUDONYM_SECRET = saved;
    expect(await http({ rawPath: '/v1/events', requestContext: {} } as never)).toEqual({ statusCode: 200 });
  });
});
