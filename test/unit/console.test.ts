import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isAdmin, session } from '../../console/src/api.js';
import { diffSnapshots } from '../../console/src/diff.js';
import { parseJson, RawNumber, stringifyJson } from '../../console/src/json.js';
import { isRange } from '../../console/src/format.js';
import { classify } from '../../console/src/search-terms.js';
import { waterfall } from '../../console/src/waterfall.js';

describe("the console's pure parts", () => {
  it('diffs lead snapshots leaf by leaf: added, removed, changed, nested, arrays by value', () => {
    const before = { email: 'a@x.com', score: 40, address: { city: 'SP', zip: '01000' }, tags: ['a', 'b'], state: 'SP' };
    const after = { email: 'a@x.com', score: 72, address: { city: 'RJ', zip: '01000' }, tags: ['a', 'b'], company: 'Acme' };
    expect(diffSnapshots(before, after)).toEqual([
      { kind: 'changed', path: 'address.city', before: 'SP', after: 'RJ' },
      { kind: 'added', path: 'company', after: 'Acme' },
      { kind: 'changed', path: 'score', before: 40, after: 72 },
      { kind: 'removed', path: 'state', before: 'SP' },
    ]);
    expect(diffSnapshots({ tags: ['a'] }, { tags: ['a', 'b'] })).toEqual([{ kind: 'changed', path: 'tags', before: ['a'], after: ['a', 'b'] }]);
    expect(diffSnapshots({}, { a: { b: 1 } })).toEqual([{ kind: 'added', path: 'a', after: { b: 1 } }]);
    expect(diffSnapshots({ n: new RawNumber('828758318460506337') }, { n: new RawNumber('828758318460506337') })).toEqual([]);
    expect(diffSnapshots({ n: new RawNumber('828758318460506337') }, { n: new RawNumber('828758318460506338') })).toHaveLength(1);
  });

  it("diffs snapshots whose keys name Object.prototype's members (toString, constructor, __proto__, hasOwnProperty…) as plain fields", () => {
    for (const key of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', '__defineGetter__']) {
      // As the API sends them: parsed JSON, where `__proto__` is an own property like any other.
      const parse = (text: string) => parseJson(text) as Record<string, unknown>;
      const name = JSON.stringify(key);
      expect(diffSnapshots(parse('{}'), parse(`{${name}: "x"}`)), `${key} added`).toEqual([{ kind: 'added', path: key, after: 'x' }]);
      expect(diffSnapshots(parse(`{${name}: "x"}`), parse('{}')), `${key} removed`).toEqual([{ kind: 'removed', path: key, before: 'x' }]);
      expect(diffSnapshots(parse(`{${name}: "x"}`), parse(`{${name}: "y"}`)), `${key} changed`).toEqual([{ kind: 'changed', path: key, before: 'x', after: 'y' }]);
      expect(diffSnapshots(parse(`{"a": {${name}: 1}}`), parse(`{"a": {${name}: 1}}`)), `${key} nested, same`).toEqual([]);
      expect(diffSnapshots(parse(`{"a": [{${name}: 1}]}`), parse(`{"a": [{}]}`)), `${key} in an array`)
        .toEqual([{ kind: 'changed', path: 'a', before: [JSON.parse(`{${name}: 1}`)], after: [{}] }]);
    }
    // Neither side holds the key: nothing, whatever the prototype has.
    expect(diffSnapshots({ a: 1 }, { a: 1 })).toEqual([]);
    // The time presets answer only their own names: `?range=toString` is no preset.
    for (const key of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) expect(isRange(key), key).toBe(false);
    expect(isRange('24h')).toBe(true);
  });

  it('keeps every digit of an id past 2^53 from the API to the screen', () => {
    const parsed = parseJson('{"order_id":828758318460506337,"amount":19.9,"small":42}') as Record<string, unknown>;
    expect(parsed.order_id).toEqual(new RawNumber('828758318460506337'));
    expect(parsed.amount).toBe(19.9);
    expect(stringifyJson(parsed)).toBe('{\n  "order_id": 828758318460506337,\n  "amount": 19.9,\n  "small": 42\n}');
  });

  it('tells an e-mail, a phone, a provider ref and a lead id apart', () => {
    expect(classify(' Ana@Example.com ')).toEqual({ by: 'email', value: 'Ana@Example.com' });
    expect(classify('+55 (11) 98765-4321')).toEqual({ by: 'phone', value: '+5511987654321' });
    expect(classify('stripe:cus_123')).toEqual({ by: 'ref', value: 'stripe:cus_123' });
    expect(classify('lead_42')).toEqual({ by: 'lead', value: 'lead_42' });
  });

  it('lays steps end to end on the waterfall, waits before durations, untimed steps as points', () => {
    const { spans, total } = waterfall([{ id: 'a', timing: { duration_ms: 100 } }, { id: 'b' }, { id: 'c', timing: { wait_ms: 50, duration_ms: 200 } }]);
    expect(Object.fromEntries(spans)).toEqual({ a: [0, 100], b: [100, 100], c: [150, 350] });
    expect(total).toBe(350);
  });

  it("draws LeadConduit's steps where they ran inside their source step (timing's clock times), runs apart end to end", () => {
    // A source step of 950 ms with a filter and two recipients inside it (side by side), a skip after the last
    // recipient ended, a retry five minutes later, a feedback days later (LeadConduit's fixtures' timing).
    const t0 = 1764950400000;
    const step = (id: string, from: number, ms: number) => ({ id, timing: { start_timestamp: t0 + from, end_timestamp: t0 + from + ms, duration_ms: ms, wait_ms: 0 } });
    const { spans, total } = waterfall([step('source', 0, 950), step('filter', 40, 2), step('buyer1', 40, 640), step('buyer2', 700, 30000), step('skip', 31000, 0), step('retry', 300000, 420), step('feedback', 237600000, 80)]);
    expect(Object.fromEntries(spans)).toEqual({
      source: [0, 950], filter: [40, 42], buyer1: [40, 680], buyer2: [700, 30700], skip: [30700, 30700], retry: [30700, 31120], feedback: [31120, 31200],
    });
    expect(total).toBe(31200);
    // Without duration_ms, end - start; odd values (negative, NaN, strings) read as absent; a step before the run's start begins a new run.
    expect(Object.fromEntries(waterfall([
      { id: 'a', timing: { start_timestamp: 1000, end_timestamp: 1300 } }, { id: 'b', timing: { start_timestamp: 900, duration_ms: 10 } },
      { id: 'c', timing: { start_timestamp: Number.NaN, duration_ms: -5, wait_ms: 7 } },
    ]).spans)).toEqual({ a: [0, 300], b: [300, 310], c: [317, 317] });
  });
});

describe("the console's admin check (isAdmin: which actions the lead page offers)", () => {
  let answers: (() => Promise<Response>)[];
  let asked: { path: string; key: string | null }[];
  beforeEach(() => {
    const stored = new Map<string, string>();
    vi.stubGlobal('sessionStorage', {
      getItem: (k: string) => stored.get(k) ?? null,
      setItem: (k: string, v: string) => void stored.set(k, String(v)),
      removeItem: (k: string) => void stored.delete(k),
    });
    answers = [];
    asked = [];
    vi.stubGlobal('fetch', (path: string, init: { headers: Record<string, string> }) => {
      asked.push({ path, key: init.headers.authorization ?? null });
      const next = answers.shift();
      if (!next) throw new Error(`unexpected request ${path}`);
      return next();
    });
    session.signIn('llk_admin');
  });
  afterEach(() => {
    session.signOut();
    vi.unstubAllGlobals();
  });
  const status = (code: number) => () => Promise.resolve(new Response(code === 200 ? '{"ignore":[]}' : '{"title":"Forbidden"}', { status: code }));

  it('asks GET /v1/settings/identity once per session: 200 is admin, 403 is not, both remembered until the key changes', async () => {
    answers.push(status(200));
    expect(await isAdmin()).toBe(true);
    expect(await isAdmin()).toBe(true);
    expect(asked).toEqual([{ path: '/v1/settings/identity', key: 'Bearer llk_admin' }]);
    // Another key: asked again, with that key, and its answer kept instead.
    session.signIn('llk_reader');
    answers.push(status(403));
    expect(await isAdmin()).toBe(false);
    expect(await isAdmin()).toBe(false);
    expect(asked.map((a) => a.key)).toEqual(['Bearer llk_admin', 'Bearer llk_reader']);
  });

  it('shares one request between pages asking at once', async () => {
    let answer!: (r: Response) => void;
    answers.push(() => new Promise((resolve) => (answer = resolve)));
    const both = Promise.all([isAdmin(), isAdmin()]);
    answer(new Response('{}', { status: 200 }));
    expect(await both).toEqual([true, true]);
    expect(asked).toHaveLength(1);
  });

  it('does not remember an answer that says nothing about the scope (5xx, network), nor one asked with a key since replaced', async () => {
    answers.push(status(503));
    expect(await isAdmin()).toBe(false);
    answers.push(() => Promise.reject(new TypeError('fetch failed')));
    expect(await isAdmin()).toBe(false);
    answers.push(status(200));
    expect(await isAdmin()).toBe(true);
    expect(asked).toHaveLength(3);
    // The admin key signs out while its check is under way: the next key's check is its own.
    session.signIn('llk_first');
    let answer!: (r: Response) => void;
    answers.push(() => new Promise((resolve) => (answer = resolve)));
    const first = isAdmin();
    session.signIn('llk_second');
    answer(new Response('{}', { status: 200 }));
    expect(await first).toBe(true);
    answers.push(status(403));
    expect(await isAdmin()).toBe(false);
    expect(asked.map((a) => a.key).slice(-2)).toEqual(['Bearer llk_first', 'Bearer llk_second']);
  });
});
