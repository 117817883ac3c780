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

describe('XML bodies (red team #23: LeadConduit recipients often take XML; the free-text rules showed phone_1, the street, ssn and dob)', () => {
  const xml = '<?xml version="1.0"?>\n<lead xmlns:x="urn:x"><x:phone_1>5127891111</x:phone_1><address_1><line>123 Main St</line></address_1>'
    + '<ssn>123-45-6789</ssn><dob>1984-03-07</dob><email>Joe@Example.com</email><first_name>Joe</first_name><field name="phone_2">2025550143</field>'
    + '<person last_name="Example" email=\'joe@example.com\' note="call +1 512 789 1111"/><c><![CDATA[ joe@example.com ]]></c>'
    + '<phone_3><![CDATA[7911123456]]></phone_3><password>hunter2</password><campaign>tx auto</campaign></lead>';
  const bodyOf = (contentType: string | undefined) =>
    (maskPii({ request: { headers: contentType ? { 'Content-Type': contentType } : {}, body: xml } }) as unknown as { request: { body: string } }).request.body;

  it.each(['application/xml', 'text/xml; charset=utf-8', 'application/soap+xml', undefined, 'text/plain'])('%s: element by element, attributes by name, CDATA as text', (contentType) => {
    const body = bodyOf(contentType);
    expect(LEAKS.filter((leak) => body.includes(leak))).toEqual([]);
    expect(body).not.toContain('hunter2');
    expect(body).toContain('<x:phone_1>512*******</x:phone_1><address_1><line>1***</line></address_1><ssn>***-**-6789</ssn><dob>1984</dob>');
    expect(body).toContain('<field name="phone_2">202*******</field>');
    expect(body).toContain('<campaign>tx auto</campaign>'); // what is no PII keeps its bytes
  });

  it('a JSON body labelled XML is still opened key by key; malformed XML is masked as far as it reads, the rest as free text', () => {
    expect(JSON.parse(bodyOfJson('{"phone_1":"5127891111"}'))).toEqual({ phone_1: '512*******' });
    const broken = (maskPii({ request: { headers: { 'content-type': 'text/xml' }, body: '<a><phone_1>5127891111</phone_1><b note="joe@example.com' } }) as unknown as { request: { body: string } }).request.body;
    expect(broken).toBe('<a><phone_1>512*******</phone_1><b note="j***@example.com');
  });

  it('a 1 MB XML body of hostile shapes is masked in linear time', () => {
    for (const body of ['<a>'.repeat(350_000), `<a ${'b=c '.repeat(250_000)}>`, `<a>${'x'.repeat(1_000_000)}</a>`, `<b ${'y'.repeat(1_000_000)}>`, '<phone_1>5127891111</phone_1>'.repeat(35_000)]) {
      const started = performance.now();
      maskPii({ request: { headers: { 'content-type': 'application/xml' }, body } });
      expect(performance.now() - started).toBeLessThan(2_000);
    }
  });
});

function bodyOfJson(body: string): string {
  return (maskPii({ request: { headers: { 'content-type': 'application/xml' }, body } }) as unknown as { request: { body: string } }).request.body;
}

describe('what the leak property with LeadConduit-shaped leads found (issue #23 point 5)', () => {
  const masked = (text: string) => (maskPii({ reason: text }) as { reason: string }).reason;
  const bodyAs = (contentType: string | undefined, body: string) =>
    (maskPii({ response: { headers: contentType === undefined ? { Accept: '*/*' } : { 'Content-Type': contentType }, body } }) as unknown as { response: { body: string } }).response.body;

  it('national North American numbers in free text (a reason, a text body): the area code kept, the rest hidden, punctuation kept', () => {
    expect(masked('Duplicate of (512) 789-1111')).toBe('Duplicate of (512) ***-****');
    expect(masked('call(512)789-1111, 512-789-1111, 512.789.1111 or 512 789 1111.')).toBe('call(512)***-****, 512-***-****, 512.***.**** or 512 *** ****.');
    expect(masked('1-512-789-1111')).toBe('1-512-***-****');
    expect(masked('+1 (512) 789-1111')).toBe('+1512*******'); // international: the other scanner's
  });

  it('what is not a national number keeps its bytes: dates, an ssn\'s shape, IPs, versions, bare digit runs, area or exchange starting 0/1, digits around', () => {
    for (const text of ['2026-12-06', '123-45-6789', '203.0.113.77', 'v2.41.0', 'epoch 1764950400', '5127891111', '(112) 789-1111', '512-189-1111', '1512-789-1111', '512-789-11112', 'x512-789-1111', 'id_512-789-1111', '(512) 789-111']) {
      expect(masked(text), text).toBe(text);
    }
  });

  it('a form-encoded body labelled text/plain, octet-stream or nothing is masked field by field (the free-text rules let ssn=, dob=, first_name= through)', () => {
    const form = 'first_name=Zqjoe&address_1=123+Main+St&ssn=123-45-6789&dob=1984-03-07&phone_1=%28512%29%20789-1111&campaign=tx';
    for (const contentType of ['text/plain', 'application/octet-stream', 'text/html', undefined]) {
      const body = bodyAs(contentType, form);
      expect(body, String(contentType)).toBe('first_name=Z***&address_1=1***&ssn=***-**-6789&dob=1984&phone_1=512*******&campaign=tx');
    }
  });

  it('what is not form-shaped stays free text (spaces, a part without =, =value), and a JSON body labelled JSON is not read as a form', () => {
    for (const body of ['ssn=123-45-6789 and more', 'a=b&ssn', '=x&ssn=123-45-6789', 'ssn=123-45-6789&']) expect(bodyAs('text/plain', body), body).toBe(body);
    expect(bodyAs('application/json', '{"ssn":"123-45-6789"}')).toBe('{"ssn":"***-**-6789"}');
  });

  it('1 MB of near-misses is masked in linear time', () => {
    for (const text of ['(512) 7'.repeat(150_000), '512-789-'.repeat(130_000), `${'a=b&'.repeat(250_000)}ssn=123456789`, '2'.repeat(1_000_000)]) {
      const started = performance.now();
      masked(text);
      bodyAs('text/plain', text);
      expect(performance.now() - started, text.slice(0, 10)).toBeLessThan(2_000);
    }
  });
});
