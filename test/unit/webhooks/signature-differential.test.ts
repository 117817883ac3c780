import '@shopify/shopify-api/adapters/web-api';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';
import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { verifyShopify, verifyStripe, verifyTypeform, type Headers } from '../../../shared/domain/webhooks/signatures.js';

/**
 * Differential tests: leadlog's accept/reject must equal the providers' official libraries' on generated
 * tamperings (stripe-node's signature verification, @shopify/shopify-api's webhooks.validate), and
 * Typeform's documented algorithm. Fixed seeds; every disagreement is a failure with its counterexample.
 */
const CASES = 2000;
const SECRETS = ['whsec_alpha1234567890', 'whsec_beta0987654321', 'shpss_gamma_secret'];
const stripe = new Stripe('sk_test_differential');
const NOW_MS = Date.parse('2026-11-23T12:00:00.000Z');

const bodies = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.string({ unit: 'grapheme', maxLength: 60 }),
  fc.constant('{"id":"evt_1","object":"event","data":{"object":{"id":828758318460506337}}}'),
);

type Tamper = (header: string, body: string) => [string, string];
const hex = (text: string) => /[0-9a-f]{64}/.exec(text)?.[0] ?? '';

const stripeTampers: Record<string, Tamper> = {
  none: (h, b) => [h, b],
  upperHex: (h, b) => [h.replace(/v1=([0-9a-f]+)/, (_, s: string) => `v1=${s.toUpperCase()}`), b],
  spaceAfterComma: (h, b) => [h.replace(',', ', '), b],
  spaceAroundEquals: (h, b) => [h.replace('v1=', 'v1 = '), b],
  leadingSpace: (h, b) => [` ${h}`, b],
  trailingSpace: (h, b) => [`${h} `, b],
  extraV0: (h, b) => [`${h},v0=${hex(h)}`, b],
  extraBadV1: (h, b) => [`${h},v1=${'0'.repeat(64)}`, b],
  badV1First: (h, b) => [h.replace('v1=', `v1=${'f'.repeat(64)},v1=`), b],
  emptyV1: (h, b) => [`${h},v1=`, b],
  bareV1: (h, b) => [`${h},v1`, b],
  dropT: (h, b) => [h.split(',').filter((p) => !p.startsWith('t=')).join(','), b],
  dropV1: (h, b) => [h.split(',').filter((p) => !p.startsWith('v1=')).join(','), b],
  emptyT: (h, b) => [h.replace(/t=\d+/, 't='), b],
  tSuffix: (h, b) => [h.replace(/t=(\d+)/, 't=$1abc'), b],
  tPlusOne: (h, b) => [h.replace(/t=(\d+)/, (_, t: string) => `t=${Number(t) + 1}`), b],
  secondT: (h, b) => [`${h},t=1`, b],
  swapOrder: (h, b) => [h.split(',').reverse().join(','), b],
  base64Signature: (h, b) => [h.replace(/v1=([0-9a-f]+)/, (_, s: string) => `v1=${Buffer.from(s, 'hex').toString('base64')}`), b],
  truncated: (h, b) => [h.slice(0, -1), b],
  upperKey: (h, b) => [h.replace('v1=', 'V1='), b],
  bodyNewline: (h, b) => [h, `${b}\n`],
  bodyChanged: (h, b) => [h, b.length > 0 ? `${b.slice(0, -1)}${b.endsWith('x') ? 'y' : 'x'}` : 'x'],
  emptyHeader: (_h, b) => ['', b],
};

describe('signature checks agree with the official libraries', () => {
  it(`Stripe: leadlog accepts exactly what stripe-node accepts (${CASES} tamperings, ages around the 300 s tolerance)`, () => {
    const verdicts = { accepted: 0, rejected: 0 };
    fc.assert(
      fc.property(
        bodies, fc.constantFrom(...SECRETS), fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.constantFrom(...SECRETS)),
        fc.oneof(fc.constantFrom(299, 300, 301, 0, -1, -600), fc.integer({ min: -400, max: 400 })),
        fc.oneof({ arbitrary: fc.constant(['none']), weight: 3 }, fc.array(fc.constantFrom(...Object.keys(stripeTampers)), { minLength: 1, maxLength: 3 })),
        (body, signingSecret, otherSecret, ageSeconds, tampers) => {
          const verifyingSecret = otherSecret ?? signingSecret;
          const timestamp = Math.floor(NOW_MS / 1000) - ageSeconds;
          let header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: signingSecret, timestamp });
          let payload = body;
          for (const name of tampers) [header, payload] = stripeTampers[name]!(header, payload);
          let library: boolean;
          try {
            stripe.webhooks.signature!.verifyHeader(payload, header, verifyingSecret, 300, undefined, NOW_MS);
            library = true;
          } catch {
            library = false;
          }
          const ours = verifyStripe(Buffer.from(payload, 'utf8'), { 'stripe-signature': header }, [verifyingSecret], NOW_MS).ok;
          verdicts[ours ? 'accepted' : 'rejected']++;
          expect(ours, JSON.stringify({ header, payload, ageSeconds, tampers })).toBe(library);
        },
      ),
      { numRuns: CASES, seed: 20261123 },
    );
    // Both outcomes were exercised, not just one.
    expect(verdicts.accepted).toBeGreaterThan(CASES / 20);
    expect(verdicts.rejected).toBeGreaterThan(CASES / 20);
  });

  it(`Shopify: leadlog accepts exactly what @shopify/shopify-api accepts (${CASES} tamperings, both header families)`, async () => {
    const libraries = new Map(SECRETS.map((secret) => [secret, shopifyApi({
      apiSecretKey: secret, apiKey: 'leadlog', scopes: [], hostName: 'localhost', apiVersion: ApiVersion.January25, isEmbeddedApp: false,
      logger: { level: LogSeverity.Error, log: async () => undefined },
    })]));
    const hmacTampers: Record<string, (hmac: string) => string> = {
      none: (h) => h,
      noPadding: (h) => h.replace(/=+$/, ''),
      base64url: (h) => h.replace(/\+/g, '-').replace(/\//g, '_'),
      base64urlNoPadding: (h) => h.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''),
      lowerCase: (h) => h.toLowerCase(),
      hex: (h) => Buffer.from(h, 'base64').toString('hex'),
      innerSpace: (h) => `${h.slice(0, 10)} ${h.slice(10)}`,
      truncated: (h) => h.slice(0, -2),
      extraPadding: (h) => `${h}=`,
      empty: () => '',
    };
    const verdicts = { accepted: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(
        bodies, fc.constantFrom(...SECRETS), fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.constantFrom(...SECRETS)),
        fc.constantFrom('webhooks', 'events', 'webhooks', 'events', 'mixed'),
        fc.oneof({ arbitrary: fc.constant('none'), weight: 8 }, fc.constantFrom(...Object.keys(hmacTampers))),
        fc.oneof({ arbitrary: fc.constant([]), weight: 4 }, fc.subarray(['topic', 'domain', 'apiVersion', 'webhookId'] as const)),
        fc.oneof({ arbitrary: fc.constant(false), weight: 4 }, fc.constant(true)),
        async (body, signingSecret, otherSecret, family, tamper, dropped, changeBody) => {
          const verifyingSecret = otherSecret ?? signingSecret;
          const hmac = hmacTampers[tamper]!(createHmac('sha256', signingSecret).update(body).digest('base64'));
          const prefix = family === 'events' ? 'shopify-' : 'x-shopify-';
          const other = family === 'mixed' ? 'shopify-' : prefix;
          const headers: Record<string, string> = {
            [`${prefix}hmac-sha256`]: hmac, [`${other}topic`]: 'orders/paid', [`${other}shop-domain`]: 'a.myshopify.com',
            [`${other}api-version`]: '2025-01', [`${other}webhook-id`]: 'wh_1',
          };
          const names = { topic: 'topic', domain: 'shop-domain', apiVersion: 'api-version', webhookId: 'webhook-id' } as const;
          for (const name of dropped) delete headers[`${other}${names[name]}`];
          const sent = changeBody ? `${body} ` : body;
          const request = new Request('https://leadlog.test/v1/webhooks/shopify/org', { method: 'POST', headers, body: sent });
          const library = sent.length > 0 && (await libraries.get(verifyingSecret)!.webhooks.validate({ rawBody: sent, rawRequest: request } as never)).valid;
          // What the handler sees: header names lower-cased and values trimmed, as HTTP parsing (and API Gateway) gives them.
          const seen: Headers = Object.fromEntries(request.headers.entries());
          const ours = verifyShopify(Buffer.from(sent, 'utf8'), seen, [verifyingSecret]).ok;
          verdicts[ours ? 'accepted' : 'rejected']++;
          expect(ours, JSON.stringify({ headers, sent, tamper, dropped })).toBe(library);
        },
      ),
      { numRuns: CASES, seed: 20261124 },
    );
    expect(verdicts.accepted).toBeGreaterThan(CASES / 20);
    expect(verdicts.rejected).toBeGreaterThan(CASES / 20);
  }, 120_000);

  it("Typeform: exactly `sha256=` + the padded base64 HMAC-SHA256 of the raw body, Typeform's documented check", () => {
    const body = '{"event_id":"01EK4R5PFZZP6C8H14RTP4YW6C","event_type":"form_response","form_response":{"token":"x71for1wr6irs2rx71fotn12b3izh25v"}}';
    const secret = 'typeform_secret';
    const digest = createHmac('sha256', secret).update(body).digest('base64');
    const check = (header: string | undefined) => verifyTypeform(Buffer.from(body), header === undefined ? {} : { 'typeform-signature': header }, [secret]).ok;
    const valid = `sha256=${digest}`;
    expect(check(valid)).toBe(true);
    for (const wrong of [
      undefined, '', digest, `SHA256=${digest}`, `sha256=${digest.replace(/=+$/, '')}`, `sha256=${digest.replace(/\+/g, '-').replace(/\//g, '_')}`,
      `sha256= ${digest}`, `sha256=${Buffer.from(digest, 'base64').toString('hex')}`, `sha1=${digest}`, `sha256=${digest}=`,
    ].filter((header) => header !== valid)) expect(check(wrong), String(wrong)).toBe(false);
  });
});
