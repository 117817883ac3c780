import { beforeAll, describe, expect, it } from 'vitest';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { mapLeadConduitEvent, redactCredentials } from '../../shared/domain/leadconduit/mapping.js';
import { configurePseudonymKey, maskEvent, maskFormEncoded, maskPii } from '../../shared/domain/masking.js';
import { leadconduitFixtures } from '../fixtures/leadconduit/validator.js';

const NOW = Date.parse('2026-12-06T08:00:00Z');
const fixtures = leadconduitFixtures();
beforeAll(() => configurePseudonymKey('k'.repeat(32)));

/** A fixture as leadlog stores it, then as a reader without pii:read (and the bus, the archive) sees it. */
function maskedStored(name: string): string {
  const mapped = mapLeadConduitEvent(redactCredentials(fixtures[name]), 'org_mask');
  if (!mapped.ok) throw new Error(name);
  const input = validateEventInput(mapped.value.input, { now: NOW });
  if (!input.ok) throw new Error(JSON.stringify(input.errors));
  return JSON.stringify(maskEvent(buildEvent(input.value, { orgId: 'org_mask', now: NOW }).event));
}

/** What no masked LeadConduit event may show: the made-up person's values in every spelling the fixtures use. */
const LEAKS = [
  'joe@example.com', 'Joe@Example.com', 'joe%40example.com', '5127891111', '(512) 789-1111', '789-1111', '2025550143', '7911123456',
  '123 Main St', '123 main street', '123+Main+St', 'Apt 4B', '123-45-6789', '123456789', '1984-03-07', '03/07/1984', '"Example"', 'EXAMPLE', '512 789 1111', '"7891111"', '"78*',
];

describe('masking LeadConduit\'s shapes (no pii:read, the bus, the archive)', () => {
  it.each(Object.keys(fixtures))('%s: no e-mail, phone, street, ssn, dob or surname passes, in the snapshot, the raw object or any body', (name) => {
    const text = maskedStored(name);
    const shown = LEAKS.filter((leak) => text.includes(leak)).map((leak) => `${leak} at …${text.slice(Math.max(0, text.indexOf(leak) - 80), text.indexOf(leak) + 40)}…`);
    expect(shown).toEqual([]);
  });

  it('typed values part by part: a phone keeps its area code, an e-mail its masked user and domain, a street its first letter, dob its year', () => {
    const lead = maskPii((fixtures['filter-continue']!.vars as { lead: Record<string, unknown> }).lead);
    expect(lead.phone_1).toMatchObject({ normal: '512*******', valid: true, type: 'mobile', country_code: 'US', area: '512', exchange: '***', line: '****', number: '***' });
    expect(lead.email).toMatchObject({ normal: 'j***@example.com', domain: 'example.com' });
    expect(lead.address_1).toMatchObject({ normal: '1***', valid: true });
    expect(lead.dob).toMatchObject({ normal: '1984', raw: '1984' });
    expect(lead.ssn).toMatchObject({ normal: '***-**-6789' });
  });

  it('a form-encoded body field by field; untouched parts keep their bytes; malformed encoding still masks contacts', () => {
    expect(maskFormEncoded('first_name=Joe&phone_1=5127891111&address_1=123+Main+St&email=joe%40example.com&campaign=tx+auto'))
      .toBe('first_name=J***&phone_1=512*******&address_1=1***&email=j***%40example.com&campaign=tx+auto');
    expect(maskFormEncoded('a=1&b=%E0%A4%A&email=joe%40example.com%ZZ')).toBe('a=1&b=%E0%A4%A&email=j***%40example.com%ZZ');
    expect(maskFormEncoded('plain text, no form')).toBe('plain text, no form');
  });

  it('numbered fields are masked as the field they number (the class, not a list)', () => {
    expect(maskPii({ phone_4: '5127891111', email_2: 'ana@x.io', address3: '9 Elm', firstName2: 'Ana', mobile_phone_2: '5127891111' }))
      .toEqual({ phone_4: '512*******', email_2: 'a***@x.io', address3: '9***', firstName2: 'A***', mobile_phone_2: '512*******' });
  });

  it('a request\'s uri query and a JSON body key by key; a body of another type as free text', () => {
    const masked = maskPii({
      request: { uri: 'https://b.example.net/p?phone_1=5127891111&email=joe%40example.com#x', headers: { 'CONTENT-TYPE': 'application/json; charset=utf-8' }, body: '{"dob":"1984-03-07","ssn":"123-45-6789"}' },
      response: { headers: { 'content-type': 'text/plain' }, body: 'phone_1=5127891111 for joe@example.com' },
    }) as unknown as Record<string, Record<string, string>>;
    expect(masked.request!.uri).toBe('https://b.example.net/p?phone_1=512*******&email=j***%40example.com#x');
    expect(JSON.parse(masked.request!.body!)).toEqual({ dob: '1984', ssn: '***-**-6789' });
    // text/plain is free text: its e-mail is masked (a bare national number in prose is not a findable phone).
    expect(masked.response!.body).toBe('phone_1=5127891111 for j***@example.com');
  });

  it('a 1 MB form body is masked in linear time', () => {
    const big = `email=${'a'.repeat(1_000_000)}%40example.com&` + 'x=1&'.repeat(50_000);
    const started = performance.now();
    expect(maskFormEncoded(big).startsWith('email=a***%40example.com&')).toBe(true);
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
