import fc from 'fast-check';
import { toArchiveRow } from '../../shared/domain/archive.js';
import type { LeadEvent } from '../../shared/domain/event.js';
import { toBusEntry } from '../../shared/domain/fanout.js';
import { buildEvent, validateEventInput } from '../../shared/domain/event.js';
import { mapLeadConduitEvent, redactCredentials } from '../../shared/domain/leadconduit/mapping.js';
import { maskEvent } from '../../shared/domain/masking.js';
import { mapHotmart } from '../../shared/domain/webhooks/hotmart.js';
import { mapShopify } from '../../shared/domain/webhooks/shopify.js';
import { mapStripe } from '../../shared/domain/webhooks/stripe.js';
import { mapTypeform } from '../../shared/domain/webhooks/typeform.js';

/**
 * The leak property (section 9): PII planted under any spelling of a PII key, at any depth, in arrays and inside
 * free text, in every PII-bearing event field and in every provider mapping, never survives masking: not in a
 * masked read, not on the bus, not in the archive row. Used by `npm test` (fixed seed) and `npm run fuzz`.
 */
export interface Planted {
  /** What must not appear in any masked output. */
  secrets: string[];
}

const word = fc.stringMatching(/^[a-z]{3,8}$/);
export const person = fc.record({
  local: fc.stringMatching(/^[a-z]{4,10}$/),
  subscriber: fc.integer({ min: 1_000_000, max: 9_999_999 }),
  name: fc.stringMatching(/^[A-Z][a-z]{5,9}$/).map((n) => `Zq${n}`),
  document: fc.integer({ min: 100_000_000, max: 999_999_999 }),
});

/** Every spelling a client might use for a key: snake, camel, Pascal, UPPER, kebab, dotted. */
const spell = (base: string) => fc.constantFrom(
  base,
  base.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
  base.replace(/(^|_)([a-z])/g, (_, _u: string, c: string) => c.toUpperCase()),
  base.toUpperCase(),
  base.replace(/_/g, '-'),
  `lead.${base}`,
);

const piiEntry = (p: { local: string; subscriber: number; name: string; document: number }) => {
  const email = `${p.local}@leak.example`;
  const phone = `+55119${p.subscriber}`;
  return fc.oneof(
    fc.tuple(fc.constantFrom('email', 'email_address', 'customer_email').chain(spell), fc.constant(email)),
    fc.tuple(fc.constantFrom('phone', 'phone_number', 'mobile', 'cell', 'whatsapp').chain(spell), fc.constant(phone)),
    fc.tuple(fc.constantFrom('first_name', 'last_name', 'full_name', 'name', 'surname', 'given_name', 'family_name', 'fname', 'lname').chain(spell), fc.constant(p.name)),
    fc.tuple(fc.constantFrom('ssn', 'cpf', 'document', 'tax_id', 'social_security_number', 'card_number', 'pan').chain(spell), fc.constant(String(p.document))),
    // v1.2: LeadConduit's field ids and typed values, credentials, form-encoded and JSON-in-string bodies, keys.
    fc.tuple(fc.constantFrom('phone_1', 'phone_2', 'phone_3', 'home_phone', 'work_phone').chain(spell), fc.constant({ normal: phone.slice(3), raw: phone, valid: true, line: phone.slice(-4) })),
    fc.tuple(fc.constant('email'), fc.constant({ normal: email, raw: email.toUpperCase(), user: p.local, valid: true })),
    fc.tuple(fc.constantFrom('password', 'secret', 'token', 'api_key', 'authorization').chain(spell), fc.constant(p.name)),
    fc.tuple(word, fc.constant(`email=${p.local}%40leak.example&phone=${encodeURIComponent(phone)}`)),
    fc.tuple(word, fc.constant(JSON.stringify({ lead: { first_name: p.name, mail: email, tel: phone } }))),
    fc.tuple(fc.constant(email), fc.constant(1)),
    // Free text under any key: a sentence with the e-mail and the phone inside.
    fc.tuple(word, fc.constant(`please reach ${email} or ${phone.replace(/^(\+55)(11)/, '$1 $2 ')} today`)),
    // A form answer typed as one.
    fc.tuple(word, fc.constant({ field: 'contact', type: 'email', value: email })),
  );
};

/** A JSON tree with the planted entries at random depths, in objects and arrays. */
export const plantedTree = person.chain((p) =>
  fc.array(fc.tuple(piiEntry(p), fc.integer({ min: 0, max: 4 }), fc.boolean()), { minLength: 1, maxLength: 5 }).map((entries) => {
    const root: Record<string, unknown> = { product_id: 'p1', note: 'nothing personal' };
    for (const [[key, value], depth, inArray] of entries) {
      let node = root;
      for (let d = 0; d < depth; d++) node = (node[`level${d}`] ??= {}) as Record<string, unknown>;
      node[key] = inArray ? [value] : value;
    }
    const secrets = [`${p.local}@leak.example`, `${p.local}%40leak.example`, `${p.local}@LEAK`.toUpperCase(), `9${p.subscriber}`, p.name, String(p.document)];
    return { tree: root, secrets, reason: `Duplicate of ${p.local}@leak.example (+55 11 9${p.subscriber})` };
  }),
);

const base: LeadEvent = {
  id: 'e1', org_id: 'org', lead_id: 'lead_1', source_type: 'external', source: 'web', event_type: 'custom.leak', payload: {},
  occurred_at: '2026-11-23T10:00:00.000Z', received_at: '2026-11-23T10:00:00.000Z', expires_at: '2027-02-21T10:00:00.000Z', schema_version: '1',
};

function outputs(event: LeadEvent): string[] {
  return [JSON.stringify(maskEvent(event)), toBusEntry(event).Detail, JSON.stringify(toArchiveRow(event))];
}

function assertNoLeak(event: LeadEvent, planted: Planted) {
  for (const output of outputs(event)) for (const secret of planted.secrets) if (output.includes(secret)) throw new Error(`leaked ${secret} in ${output.slice(0, 300)}`);
}

/** Planted trees in every PII-bearing field: the masked read, the bus entry and the archive row hold none of it. */
export const eventFieldsProperty = fc.property(plantedTree, fc.constantFrom('payload', 'raw_payload', 'lead_snapshot', 'appended'), ({ tree, secrets, reason }, field) => {
  assertNoLeak({ ...base, [field]: tree, reason }, { secrets });
});

/** v1.2: an e-mail or phone inside any id of the envelope never survives masking either. */
export const idsProperty = fc.property(person, fc.constantFrom('lead_id', 'flow_id', 'step_id', 'entity_id', 'object_id', 'object_id_ref', 'external_event_id'), fc.boolean(), ({ local, subscriber }, field, asPhone) => {
  const secret = asPhone ? `9${subscriber}` : `${local}@leak.example`;
  assertNoLeak({ ...base, [field]: asPhone ? `id +55119${subscriber}` : `id ${local}@leak.example` }, { secrets: [secret] });
});

/** What every provider mapping makes of a delivery full of PII: masked as thoroughly. */
export const mappingsProperty = fc.property(person, ({ local, subscriber, name }) => {
  const email = `${local}@leak.example`;
  const phone = `+55119${subscriber}`;
  const secrets = [email, `9${subscriber}`, name];
  const deliveries = [
    mapTypeform({ event_type: 'form_response', form_response: { token: 't', answers: [
      { type: 'email', email, field: { ref: 'contact' } }, { type: 'phone_number', phone_number: phone, field: { ref: 'tel' } },
      { type: 'text', text: `write to ${email} or call ${phone}`, field: { ref: 'about' } }, { type: 'short_text', text: name, field: { ref: 'firstName' } },
    ], hidden: { emailAddress: email }, definition: { title: 'Form' } } }, {}),
    mapStripe({ id: 'evt_1', type: 'checkout.session.completed', created: 1, data: { object: { id: 'cs_1', payment_status: 'paid', amount_total: 100, currency: 'usd', customer_details: { email, phone, name } } } }, {}),
    mapShopify({ id: 1, email, phone, financial_status: 'paid', total_price: '1.00', customer: { firstName: name, email }, billing_address: { phone, address1: `1 ${name} St` }, line_items: [{ title: 'x', product_id: 1 }] }, { 'x-shopify-topic': 'orders/paid', 'x-shopify-event-id': 'e' }),
    mapHotmart({ id: 'h1', event: 'PURCHASE_APPROVED', creation_date: 1, data: { buyer: { email, name, checkout_phone: phone }, purchase: { transaction: 'HP1', status: 'APPROVED', price: { value: 1, currency_value: 'BRL' } }, product: { id: 1, name: 'P' } } }, {}),
  ];
  for (const mapped of deliveries) assertNoLeak({ ...base, payload: mapped.payload, raw_payload: mapped.payload }, { secrets });
});

// ── LeadConduit-shaped leads (issue #23 point 5) ──────────────────────────────────────────────────────────────

/**
 * One LeadConduit person: every value distinctive enough to be searched for in any output (letters after `zq`, digit
 * runs of 7 or more, dates whole), so a hit is a leak, never a coincidence.
 */
const lcPerson = fc.record({
  local: fc.stringMatching(/^[a-z]{4,8}$/).map((s) => `zq${s}`),
  area: fc.integer({ min: 201, max: 989 }),
  subscriber: fc.integer({ min: 2_000_000, max: 9_999_999 }),
  name: fc.stringMatching(/^[a-z]{5,8}$/).map((s) => `Zq${s}`),
  street: fc.stringMatching(/^[a-z]{5,8}$/).map((s) => `Zq${s}`),
  houseNumber: fc.integer({ min: 10_000, max: 99_999 }),
  suite: fc.stringMatching(/^[a-z]{4,6}$/).map((s) => `Zq${s}`),
  ssn: fc.tuple(fc.integer({ min: 100, max: 899 }), fc.integer({ min: 10, max: 99 }), fc.integer({ min: 1000, max: 9999 })),
  dob: fc.tuple(fc.integer({ min: 1940, max: 2005 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 })),
});
type LcPerson = typeof lcPerson extends fc.Arbitrary<infer T> ? T : never;

/** What an attacker or a messy world puts before a value (now and then): a lone surrogate (refused), a zero-width space, a BOM, an accent. */
const noise = fc.oneof({ arbitrary: fc.constant(''), weight: 40 }, fc.constantFrom('\uD800', '\u200B', '\uFEFF', 'é ', '  '));
const spelledContentType = (types: string[]) => fc.tuple(fc.constantFrom(...types), fc.constantFrom('Content-Type', 'content-type', 'CONTENT-TYPE'));

function lcValues(p: LcPerson) {
  const email = `${p.local}@leak.example`;
  const exchange = String(p.subscriber).slice(0, 3);
  const line = String(p.subscriber).slice(3);
  const phone = `${p.area}${p.subscriber}`;
  const [a, b, c] = p.ssn;
  const [y, m, d] = p.dob;
  const mm = String(m).padStart(2, '0');
  const dd = String(d).padStart(2, '0');
  return {
    email, exchange, line, phone, phoneRaw: `(${p.area}) ${exchange}-${line}`,
    address1: `${p.houseNumber} ${p.street} St`, address2: `Suite ${p.suite}`,
    ssn: `${a}${b}${c}`, ssnRaw: `${a}-${b}-${c}`, dob: `${y}-${mm}-${dd}`, dobRaw: `${mm}/${dd}/${y}`,
  };
}

/**
 * Every string that must not survive masking, lower-cased (outputs are compared lower-cased, so a value's upper-case
 * raw form is covered too): the e-mail and its user, the subscriber number in every spelling, names, the street and
 * suite, the house number before the street, the ssn but its last 4, the date of birth but its year.
 */
export function leadConduitSecrets(p: LcPerson): string[] {
  const v = lcValues(p);
  return [p.local, `${p.local}%40`, String(p.subscriber), `${v.exchange}-${v.line}`, `${v.exchange}.${v.line}`, `${v.exchange}+${v.line}`, `${v.exchange}%2d${v.line}`,
    p.name, p.street, p.suite, `${p.houseNumber} `, `${p.houseNumber}+`, v.ssn, `${p.ssn[0]}-${p.ssn[1]}-`, v.dob, v.dobRaw, `${v.dobRaw.slice(0, 2)}%2f${v.dobRaw.slice(3, 5)}%2f`].map((s) => s.toLowerCase());
}

/** A LeadConduit typed value (`{normal, raw, valid, …}`), or, as some flows send it, the bare string. */
const typed = (normal: string, raw: string, extra: Record<string, unknown> = {}) =>
  fc.tuple(fc.boolean(), noise).map(([asObject, n]) => (asObject ? { normal, raw: `${n}${raw}`, valid: true, ...extra } : `${n}${raw}`));

/** A request or response body carrying the person, in one of the shapes LeadConduit's integrations send, under a content type that may lie. */
const lcBody = (p: LcPerson) => {
  const v = lcValues(p);
  const fields = { email: v.email, phone_1: v.phoneRaw, first_name: p.name, address_1: v.address1, ssn: v.ssnRaw, dob: v.dob };
  return fc.oneof(
    fc.tuple(fc.constant(JSON.stringify({ lead: fields, note: `call ${v.phoneRaw}` })), spelledContentType(['application/json', 'application/json; charset=utf-8', 'application/vnd.api+json', 'text/plain', 'application/octet-stream', ''])),
    fc.tuple(fc.constant(Object.entries(fields).map(([k, x]) => `${k}=${encodeURIComponent(x)}`).join('&')), spelledContentType(['application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8', 'text/plain', ''])),
    fc.tuple(fc.constant(`${Object.entries(fields).map(([k, x]) => `${k}=${x}`).join('&')}`), spelledContentType(['application/x-www-form-urlencoded'])),
    fc.tuple(fc.constant(`<?xml version="1.0" encoding="UTF-8"?><lead>${Object.entries(fields).map(([k, x]) => `<${k}>${x.replace(/&/g, '&amp;')}</${k}>`).join('')}<notes><![CDATA[reach ${v.email}]]></notes></lead>`),
      spelledContentType(['application/xml', 'text/xml; charset=utf-8', 'application/soap+xml', 'text/plain', ''])),
    fc.tuple(fc.constant(`<result><field name="email" value="${v.email}"/><field name="ssn">${v.ssnRaw}</field><field key="dob">${v.dobRaw}</field></result>`), spelledContentType(['text/xml', ''])),
    // Free text: only shapes (e-mails, phones) can be found in it.
    fc.tuple(fc.constant(`Duplicate lead ${v.email} / ${v.phoneRaw} (mailto:${encodeURIComponent(v.email)})`), spelledContentType(['text/plain', 'text/html', ''])),
  ).map(([body, [type, name]]) => ({ body, headers: type === '' ? { Accept: '*/*' } : { [name]: type, Accept: '*/*' } }));
};

/**
 * A LeadConduit event (any fixture's type × outcome) whose lead is the person: typed values (`email`, `phone_1..3`,
 * `first_name`, `last_name`, `address_1/2`, `dob`, `ssn`) or bare strings, a reason quoting the e-mail and phone, a
 * recipient's own appended data, the request URI's query, and transactions whose request and response bodies carry
 * the person in JSON, form-encoded (percent-encoded e-mail), XML or free text (e-mail and phone only: shapes are all
 * free text can be searched for) under true, missing or lying content types.
 */
export const leadConduitLead = (fixtures: Record<string, unknown>[]) => fc.tuple(lcPerson, fc.constantFrom(...fixtures.keys()))
  .chain(([p, fixture]) => {
    const v = lcValues(p);
    const phoneTyped = (area: number) => typed(`${area}${p.subscriber}`, v.phoneRaw.replace(String(p.area), String(area)), { area: String(area), exchange: v.exchange, line: v.line, number: String(p.subscriber), type: 'mobile', country_code: 'US' });
    const body = lcBody(p);
    return fc.record({
      email: typed(v.email, v.email.toUpperCase(), { user: p.local, domain: 'leak.example', host: 'leak', tld: 'example' }),
      phone_1: phoneTyped(p.area), phone_2: phoneTyped(p.area === 989 ? 201 : p.area + 1), phone_3: phoneTyped(555),
      first_name: typed(p.name, p.name.toLowerCase()), last_name: typed(p.name, p.name.toUpperCase()),
      address_1: typed(v.address1, v.address1.toLowerCase()), address_2: typed(v.address2, v.address2.toLowerCase()),
      dob: typed(v.dob, v.dobRaw, { year: p.dob[0] }), ssn: typed(v.ssn, v.ssnRaw),
      request: body, response: body,
    }).map((lead) => {
      const event = structuredClone(fixtures[fixture]!) as Record<string, unknown>;
      const vars = event.vars as Record<string, Record<string, unknown>>;
      const { request, response, ...fields } = lead;
      vars.lead = { ...vars.lead, ...fields };
      event.reason = `Duplicate of ${v.email} (${v.phoneRaw})`;
      event.key = 'buyer';
      event.buyer = { outcome: 'success', contact: v.email, lead: { phone_1: v.phoneRaw, ssn: v.ssnRaw } };
      event.transactions = [{
        request: { method: 'POST', uri: `https://buyer.example.net/post?email=${encodeURIComponent(v.email)}&phone_1=${v.phone}&ssn=${v.ssn}`, version: '1.1', ...request, timestamp: 1 },
        response: { status: 200, status_text: 'OK', version: '1.1', ...response, timestamp: 2 },
        ms: 1,
      }];
      return { event, secrets: leadConduitSecrets(p), phone: { exchange: v.exchange, line: v.line } };
    });
  });

/** The leak check for lower-cased secrets: none in any output (outputs lower-cased too). */
export function assertNoLeadConduitLeak(outputs: Record<string, string>, secrets: readonly string[]): void {
  for (const [where, output] of Object.entries(outputs)) {
    const text = output.toLowerCase();
    for (const secret of secrets) {
      const at = text.indexOf(secret);
      if (at >= 0) throw new Error(`leaked ${JSON.stringify(secret)} in ${where}: …${output.slice(Math.max(0, at - 150), at + 150)}…`);
    }
  }
}

/** A typed phone object, masked, keeps no part of its subscriber number (its exchange or line alone are half of it). */
export function assertPhonePartsHidden(masked: unknown, p: { exchange: string; line: string }): void {
  const walk = (node: unknown, path: string): void => {
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if ((value === p.exchange || value === p.line) && /^(exchange|line|number|extension)$/.test(key)) throw new Error(`a phone's ${key} kept whole at ${path}.${key}`);
      walk(value, `${path}.${key}`);
    }
  };
  walk(masked, '');
}

/**
 * The property: a LeadConduit event full of the person, mapped as the ingest maps it (redacted, then section 12's
 * mapping, validated, built), shows none of the person in the masked read, the bus entry or the archive row. `map`
 * answers a string when the ingest refuses the event (a lone surrogate is not well-formed Unicode): that refusal is
 * what the caller is told and what may be logged, so it must not quote the person either.
 */
export const leadConduitProperty = (fixtures: Record<string, unknown>[], validate?: (event: unknown) => string | undefined, map = leadConduitIngested) =>
  fc.property(leadConduitLead(fixtures), ({ event, secrets, phone }) => {
    const problem = validate?.(event);
    if (problem) throw new Error(`the generated event is not a LeadConduit event: ${problem}`);
    const mapped = map(event);
    if (typeof mapped === 'string') return assertNoLeadConduitLeak({ refusal: mapped }, secrets);
    const masked = maskEvent(mapped);
    assertNoLeadConduitLeak({ read: JSON.stringify(masked), bus: toBusEntry(mapped).Detail, archive: JSON.stringify(toArchiveRow(mapped)) }, secrets);
    assertPhonePartsHidden(masked, phone);
  });

/** A LeadConduit event as the ingest makes it a leadlog event: redacted, mapped (section 12), validated, built; or its refusal. */
export function leadConduitIngested(object: Record<string, unknown>): LeadEvent | string {
  const now = Date.parse('2026-11-23T10:00:00Z');
  const mapped = mapLeadConduitEvent(redactCredentials(object), 'org_leak');
  if (!mapped.ok) return JSON.stringify(mapped.errors);
  const valid = validateEventInput(mapped.value.input, { now, requireLeadId: true });
  if (!valid.ok) return JSON.stringify(valid.errors);
  return buildEvent(valid.value, { orgId: 'org_leak', now }).event;
}
