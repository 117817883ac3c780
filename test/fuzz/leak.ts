import fc from 'fast-check';
import { toArchiveRow } from '../../shared/domain/archive.js';
import type { LeadEvent } from '../../shared/domain/event.js';
import { toBusEntry } from '../../shared/domain/fanout.js';
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
