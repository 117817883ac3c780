import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { validateEventInput } from '../../shared/domain/event.js';
import { ValidationError } from '../../shared/domain/errors.js';
import { idString, malformedStringPaths, parseOrThrow } from '../../shared/domain/schema.js';

const now = Date.parse('2026-11-23T14:30:00.000Z');
const base = { lead_id: 'lead_1', source_type: 'direct', source: 'web', event_type: 'custom.test', occurred_at: '2026-11-23T14:00:00.000Z' };
const LONE = '\ud800';
const ID_FIELDS = ['lead_id', 'flow_id', 'step_id', 'entity_id', 'object_id', 'object_id_ref', 'external_event_id'] as const;

function pathsOf(body: unknown): string[] {
  const result = validateEventInput(body, { now });
  return result.ok ? [] : [...new Set(result.errors.map((e) => e.path))].sort();
}

describe('the boundary rule: well-formed strings everywhere', () => {
  it('names every lone surrogate, in fields, nested values, arrays and keys', () => {
    const body = {
      ...base, reason: `x${LONE}`, external_event_id: `ev${LONE}`,
      payload: { ok: 'fine', deep: { list: ['a', `b${'\udc00'}`] }, [`k${LONE}`]: 1 },
      lead_snapshot: { name: `${LONE}` },
    };
    expect(pathsOf(body)).toEqual(['external_event_id', 'lead_snapshot.name', 'payload.deep.list[1]', `payload.k\ufffd`, 'reason']);
  });

  it('accepts surrogate pairs (emoji) and non-Latin text', () => {
    expect(pathsOf({ ...base, lead_id: 'José 😀 Silva', reason: '日本語', payload: { '😀': '😀' } })).toEqual([]);
  });

  it('finds nothing in a well-formed value, and is linear on a wide object', () => {
    expect(malformedStringPaths({ a: ['b', { c: 'd' }] })).toEqual([]);
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, 'v']));
    const started = performance.now();
    expect(malformedStringPaths(wide)).toEqual([]);
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('applies to every request schema parsed with parseOrThrow (query parameters, bodies)', () => {
    const schema = z.strictObject({ name: z.optional(z.string()) });
    expect(() => parseOrThrow(schema, { name: `a${LONE}` })).toThrow(ValidationError);
    try {
      parseOrThrow(schema, { name: `a${LONE}` });
    } catch (error) {
      expect((error as ValidationError).errors?.map((e) => e.path)).toEqual(['name']);
    }
  });
});

describe('the boundary rule: ids', () => {
  it.each(ID_FIELDS)('%s: at most 255 characters, no control characters, well-formed', (field) => {
    expect(pathsOf({ ...base, [field]: 'x'.repeat(255) })).toEqual([]);
    expect(pathsOf({ ...base, [field]: 'x'.repeat(256) })).toEqual([field]);
    expect(pathsOf({ ...base, [field]: 'x'.repeat(3_000) })).toEqual([field]);
    expect(pathsOf({ ...base, [field]: 'a\u0000b' })).toEqual([field]);
    expect(pathsOf({ ...base, [field]: 'a\u007fb' })).toEqual([field]);
    expect(pathsOf({ ...base, [field]: `a${LONE}` })).toEqual([field]);
  });

  it('names every bad id of one request at once', () => {
    expect(pathsOf({ ...base, lead_id: 'l'.repeat(300), flow_id: 'a\nb', entity_id: LONE })).toEqual(['entity_id', 'flow_id', 'lead_id']);
  });

  it('identity values obey the rule too', () => {
    expect(pathsOf({ ...base, identity: { email: `a\u0001@example.com`, phone: `+1${LONE}`, refs: ['stripe:cus_\u0007'] } }))
      .toEqual(['identity.email', 'identity.phone', 'identity.refs[0]']);
  });

  it('idString is the one schema for ids elsewhere (exports, replays, queries)', () => {
    expect(idString().safeParse('lead 1').success).toBe(true);
    for (const bad of ['', ' ', 'x'.repeat(256), 'a\tb', LONE]) expect(idString().safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  });
});

describe('path parameters: decoded once (shared/http/routing.ts)', () => {
  it('decodes each parameter exactly once', async () => {
    const { decodePathParameters } = await import('../../shared/http/routing.js');
    expect(decodePathParameters({ lead_id: 'Jos%C3%A9%20Silva', id: '100%2525' })).toEqual({ lead_id: 'José Silva', id: '100%25' });
  });

  it('refuses malformed escapes, encoded lone surrogates, over 1,024 bytes and broken lead/flow ids, naming each', async () => {
    const { decodePathParameters } = await import('../../shared/http/routing.js');
    try {
      decodePathParameters({ lead_id: '%E0%A4%A', flow_id: 'a%00b', id: encodeURIComponent('é'.repeat(513)), provider: '%ED%A0%80' });
      expect.unreachable();
    } catch (error) {
      expect((error as ValidationError).errors?.map((e) => e.path).sort()).toEqual(['flow_id', 'id', 'lead_id', 'provider']);
    }
  });
});
