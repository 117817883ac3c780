import { describe, expect, it } from 'vitest';
import { toArchiveRow } from '../../shared/domain/archive.js';
import { canonicalJson } from '../../shared/domain/canonical.js';
import type { LeadEvent } from '../../shared/domain/event.js';
import { toBusEntry } from '../../shared/domain/fanout.js';
import { checkJsonDepth, isRawNumber, JsonDepthError, parseJsonLossless } from '../../shared/domain/json.js';
import { maskPii } from '../../shared/domain/masking.js';

const text = '{"id":"e1","org_id":"o","lead_id":"l","source_type":"external","source":"shopify","event_type":"purchase_completed",' +
  '"occurred_at":"2026-11-23T10:00:00.000Z","received_at":"2026-11-23T10:00:00.000Z","expires_at":"2027-02-21T10:00:00.000Z","schema_version":"1",' +
  '"payload":{"order_id":828758318460506337,"amount":49.90,"count":3},"raw_payload":{"id":828758318460506337,"phone":5511999999999123}}';

describe('lossless JSON', () => {
  it('keeps numbers a double cannot hold as their digits, and the rest as plain numbers', () => {
    const value = parseJsonLossless('{"a":828758318460506337,"b":49.90,"c":-0.0,"d":1e999,"e":12345678901234567,"f":9007199254740991,"g":"828758318460506337"}') as Record<string, unknown>;
    expect(isRawNumber(value.a)).toBe(true);
    expect(value.b).toBe(49.9);
    expect(value.c).toBe(-0);
    expect(isRawNumber(value.d)).toBe(true);
    expect(isRawNumber(value.e)).toBe(true);
    expect(value.f).toBe(9007199254740991);
    expect(JSON.stringify(value)).toBe('{"a":828758318460506337,"b":49.9,"c":0,"d":1e999,"e":12345678901234567,"f":9007199254740991,"g":"828758318460506337"}');
  });

  it('keeps the digits on the bus, in the archive row, through masking and in the content hash', () => {
    const event = parseJsonLossless(text) as LeadEvent;
    expect(toBusEntry(event).Detail).toContain('"order_id":828758318460506337');
    const row = JSON.stringify(toArchiveRow(event));
    expect(row).toContain('\\"order_id\\":828758318460506337');
    expect(row).toContain('\\"id\\":828758318460506337');
    const masked = maskPii(event.raw_payload) as Record<string, unknown>;
    expect(JSON.stringify(masked.id)).toBe('828758318460506337');
    expect(masked.phone).toMatch(/^551\*+$/);
    expect(canonicalJson(event.payload)).toBe('{"amount":49.9,"count":3,"order_id":828758318460506337}');
    expect(canonicalJson(parseJsonLossless('{"order_id":828758318460506338}'))).not.toBe(canonicalJson(parseJsonLossless('{"order_id":828758318460506337}')));
  });

  it('refuses nesting deeper than its limit before parsing, without counting brackets inside strings', () => {
    expect(() => checkJsonDepth(`${'['.repeat(257)}${']'.repeat(257)}`)).toThrow(JsonDepthError);
    expect(() => checkJsonDepth(`{"s":"${'['.repeat(5000)}\\""}`)).not.toThrow();
    expect(() => checkJsonDepth(`${'['.repeat(256)}${']'.repeat(256)}`)).not.toThrow();
  });
});

describe('well-formed JSON for what leadlog derives', () => {
  it('parseJsonWellFormed replaces escaped lone surrogates (values and keys), keeps pairs, digits and a __proto__ key', async () => {
    const { parseJsonWellFormed } = await import('../../shared/domain/json.js');
    const value = parseJsonWellFormed('{"a":"I like \\ud800 this","\\udc00k":1,"emoji":"\\ud83d\\ude00","__proto__":{"x":1},"id":828758318460506337}') as Record<string, unknown>;
    expect(value.a).toBe('I like \ufffd this');
    expect(Object.keys(value)).toEqual(['a', '\ufffdk', 'emoji', '__proto__', 'id']);
    expect(value.emoji).toBe('😀');
    expect(Object.hasOwn(value, '__proto__')).toBe(true);
    expect(JSON.stringify(value)).toBe('{"a":"I like \ufffd this","\ufffdk":1,"emoji":"😀","__proto__":{"x":1},"id":828758318460506337}');
  });

  it('stringifyWellFormed writes text every strict reader takes, and the same text when nothing is odd', async () => {
    const { stringifyWellFormed } = await import('../../shared/domain/json.js');
    expect(stringifyWellFormed({ t: 'x\ud800y', [`k\udfff`]: ['\udbff'] })).toBe('{"t":"x\ufffdy","k\ufffd":["\ufffd"]}');
    const ordinary = { t: 'plain', n: 1.5, e: '😀', slash: 'a\\ud800 typed as text' };
    expect(stringifyWellFormed(ordinary)).toBe(JSON.stringify(ordinary));
  });
});

describe('archive rows of events stored before the boundary rule', () => {
  it("a lone surrogate already in a stored event's payload reaches the archive's JSON columns as U+FFFD, never as an escape DuckDB refuses", () => {
    const event = parseJsonLossless(text) as LeadEvent;
    (event.payload as Record<string, unknown>).note = 'old \ud800 data';
    const row = toArchiveRow(event) as Record<string, unknown>;
    const columns = Object.values(row).filter((v): v is string => typeof v === 'string' && v.startsWith('{'));
    expect(columns.some((c) => c.includes('old \ufffd data'))).toBe(true);
    for (const c of columns) expect(c).not.toMatch(/\\ud800/);
  });
});
