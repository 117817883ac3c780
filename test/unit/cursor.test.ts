import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Cursors, parseRangePage } from '../../shared/domain/cursor.js';
import { ValidationError } from '../../shared/domain/errors.js';

const position = { partition: 0, timeKey: '2026-11-23T14:30:45.123Z#01a20917-9017-76d7-85c9-c1c7345c0612' };
const query = { route: 'timeline', leadId: 'l1' };
const SECRET = 'a-test-secret-of-the-deployment-0123456789';
const cursors = new Cursors(async () => SECRET);

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const unb64 = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));

/** Every refusal is the same 400, naming `cursor`. */
async function expectRefused(cursor: string, orgId = 'org_a', q: Record<string, unknown> = query): Promise<void> {
  const error = await cursors.open(cursor, orgId, q).then(() => undefined, (e: unknown) => e);
  expect(error, cursor.slice(0, 80)).toBeInstanceOf(ValidationError);
  expect((error as ValidationError).errors).toEqual([expect.objectContaining({ path: 'cursor' })]);
}

describe('signed cursors', () => {
  it('round-trip for the same org and query, with the defaults the first page resolved', async () => {
    const cursor = await cursors.encode(position, 'org_a', query, { from: 1_000, to: 2_000 });
    expect(await cursors.open(cursor, 'org_a', { leadId: 'l1', route: 'timeline' })).toEqual({ position, defaults: { from: 1_000, to: 2_000 } });
    expect(await cursors.open(await cursors.encode(position, 'org_a', query), 'org_a', query)).toEqual({ position });
  });

  it('are refused for another org or another query', async () => {
    const cursor = await cursors.encode(position, 'org_a', query);
    await expectRefused(cursor, 'org_b');
    await expectRefused(cursor, 'org_a', { route: 'timeline', leadId: 'l2' });
    await expectRefused(cursor, 'org_a', { route: 'list', leadId: 'l1' });
  });

  it('are refused when signed by another deployment, or computed without the secret', async () => {
    const foreign = await new Cursors(async () => 'another-deployment-secret-0123456789abcdef').encode(position, 'org_a', query);
    await expectRefused(foreign);
    // The recipe of the unsigned cursors (a public digest of org, query and position): anyone could compute one.
    const text = `leadlog-cursor-v1\u0000org_a\u0000${JSON.stringify(query)}\u00000\u0000${position.timeKey}\u0000{}`;
    await expectRefused(b64({ v: 1, p: 0, t: position.timeKey, b: createHash('sha256').update(text).digest('hex').slice(0, 32) }));
    // The v2 layout with a signature under a guessed key (empty, or the org id).
    for (const key of ['', 'org_a']) {
      const s = createHmac('sha256', key).update(`leadlog-cursor-v2\u0000org_a\u0000{"leadId":"l1","route":"timeline"}\u00000\u0000${position.timeKey}\u0000{}`).digest('base64url');
      await expectRefused(b64({ v: 2, p: 0, t: position.timeKey, s }));
    }
  });

  it('are refused when tampered: position, partition, defaults, signature, or a field added', async () => {
    const cursor = await cursors.encode(position, 'org_a', query, { from: 1_000, to: 2_000 });
    const body = unb64(cursor);
    for (const change of [
      { t: position.timeKey.replace('14:30', '14:31') }, { p: 1 }, { d: { from: 0, to: 2_000 } }, { d: undefined },
      { s: body.s.replace(/^./, (c: string) => (c === 'A' ? 'B' : 'A')) }, { s: body.s.slice(0, -2) }, { s: 42 }, { v: 1 },
      { d: { from: 8.64e15, to: 8.64e15 + 1 } }, { d: { from: -1e300, to: 1e300 } }, { d: [1, 2] }, { p: -1 }, { p: 1e20 }, { t: 7 },
    ]) {
      await expectRefused(b64({ ...body, ...change }));
    }
  });

  it('are refused when truncated, not base64url, not JSON, not an object, empty or huge, without ever throwing anything else', async () => {
    const cursor = await cursors.encode(position, 'org_a', query);
    for (const crafted of [
      cursor.slice(0, -1), cursor.slice(0, cursor.length / 2), cursor.slice(1), `${cursor}A`, '', 'not a cursor!', '%%%', 'a.b', '😀',
      '\ud800', b64('null'), b64('[]'), b64('"x"'), b64('{'), b64('{"__proto__":{"v":2}}'), 'A'.repeat(601), 'A'.repeat(1_000_000),
    ]) {
      await expectRefused(crafted);
    }
  });

  it('read the secret once, retry a failed read, and refuse a secret shorter than 32 characters', async () => {
    let reads = 0;
    let fail = true;
    const flaky = new Cursors(async () => {
      reads += 1;
      if (fail) throw new Error('throttled');
      return SECRET;
    });
    await expect(flaky.encode(position, 'org_a', query)).rejects.toThrow('throttled');
    fail = false;
    const cursor = await flaky.encode(position, 'org_a', query);
    await flaky.open(cursor, 'org_a', query);
    await flaky.encode(position, 'org_b', query);
    expect(reads).toBe(2);
    // The same secret in two containers: a cursor made by one is opened by the other.
    expect(await cursors.open(cursor, 'org_a', query)).toEqual({ position });
    await expect(new Cursors(async () => 'short').encode(position, 'org_a', query)).rejects.toThrow(/at least 32 characters/);
  });

  it('carry a range page\'s window only once verified: a crafted window is a 400, not a 500 later', async () => {
    const now = Date.UTC(2026, 10, 23);
    const first = await parseRangePage({}, now, 86_400_000, cursors, 'org_a', 'audit');
    const next = await cursors.encode(position, 'org_a', first.binding, first.defaults);
    const second = await parseRangePage({ cursor: next }, now + 60_000, 86_400_000, cursors, 'org_a', 'audit');
    expect([second.fromMs, second.toMs, second.after]).toEqual([first.fromMs, first.toMs, position]);
    const crafted = b64({ ...unb64(next), d: { from: 8.64e15, to: 8.64e15 + 1 } });
    await expect(parseRangePage({ cursor: crafted }, now, 86_400_000, cursors, 'org_a', 'audit')).rejects.toBeInstanceOf(ValidationError);
    await expect(parseRangePage({ cursor: next }, now, 86_400_000, cursors, 'org_a', 'alerts')).rejects.toBeInstanceOf(ValidationError);
  });
});
