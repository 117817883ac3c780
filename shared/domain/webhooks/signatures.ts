import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Provider authentication, on the raw body bytes, before any JSON parsing, compared in constant time.
 * Each check takes every secret the org currently holds for the provider (two during a rotation).
 */
export const PROVIDERS = ['stripe', 'shopify', 'typeform', 'hotmart'] as const;
export type Provider = (typeof PROVIDERS)[number];

export function isProvider(value: string): value is Provider {
  return (PROVIDERS as readonly string[]).includes(value);
}

/** Stripe's default tolerance (stripe-node DEFAULT_TOLERANCE): a signature older than this is refused. */
export const STRIPE_TOLERANCE_SECONDS = 300;

export type Headers = Record<string, string | undefined>;

export type Verification = { ok: true } | { ok: false; reason: string };

const fail = (reason: string): Verification => ({ ok: false, reason });

/** Equal-length buffers compared in constant time; different lengths are simply unequal. */
export function constantTimeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function hmac(secret: string, data: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/** Strings compared in constant time over their UTF-8 bytes; different lengths are simply unequal. */
function sameText(a: string, b: string): boolean {
  return constantTimeEqual(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…]`, exactly as stripe-node's `webhooks.constructEvent`
 * reads it: parts split on ',' then '=', keys compared as written (no trimming), `t` read with parseInt (the
 * last one wins), each v1 compared as a string with the lower-case hex HMAC-SHA256 of `${t}.${body}` (the body
 * decoded as UTF-8, as the library does), and a signature older than the tolerance refused (a future one passes).
 */
export function verifyStripe(raw: Buffer, headers: Headers, secrets: string[], nowMs: number): Verification {
  const header = headers['stripe-signature'];
  if (!header) return fail('missing Stripe-Signature header');
  if (raw.length === 0) return fail('empty body');
  let timestamp = -1;
  const signatures: (string | undefined)[] = [];
  for (const item of header.split(',')) {
    const kv = item.split('=');
    if (kv[0] === 't') timestamp = parseInt(kv[1] as string, 10);
    if (kv[0] === 'v1') signatures.push(kv[1]);
  }
  if (timestamp === -1) return fail('no timestamp in the Stripe-Signature header');
  if (signatures.length === 0) return fail('no v1 signature in the Stripe-Signature header');
  // stripe-node compares every v1 and throws (rejecting the delivery) on an empty one, or on one as long as a
  // hex digest in characters but not in UTF-8 bytes.
  if (signatures.some((signature) => !signature || (signature.length === 64 && Buffer.byteLength(signature) !== 64))) return fail('malformed v1 signature');
  const signed = `${timestamp}.${new TextDecoder('utf-8').decode(raw)}`;
  const matches = secrets.some((secret) => {
    const expected = createHmac('sha256', secret).update(signed, 'utf8').digest('hex');
    return signatures.some((signature) => sameText(signature!, expected));
  });
  if (!matches) return fail('no Stripe signature matches');
  if (Math.floor(nowMs / 1000) - timestamp > STRIPE_TOLERANCE_SECONDS) return fail('Stripe-Signature timestamp outside the tolerance');
  return { ok: true };
}

/** A header value compared as a string with `prefix` + the base64 (padded, standard alphabet) HMAC-SHA256 of the body. */
function verifyBase64Hmac(raw: Buffer, given: string | undefined, secrets: string[], name: string, prefix = ''): Verification {
  if (!given) return fail(`missing ${name} header`);
  for (const secret of secrets) if (sameText(given, `${prefix}${hmac(secret, raw).toString('base64')}`)) return { ok: true };
  return fail(`${name} does not match`);
}

/** Shopify's header names: `X-Shopify-*` for webhooks, `shopify-*` for the newer events deliveries. */
export const SHOPIFY_HEADERS = {
  webhooks: { hmac: 'x-shopify-hmac-sha256', topic: 'x-shopify-topic', domain: 'x-shopify-shop-domain', apiVersion: 'x-shopify-api-version', webhookId: 'x-shopify-webhook-id', eventId: 'x-shopify-event-id', triggeredAt: 'x-shopify-triggered-at' },
  events: { hmac: 'shopify-hmac-sha256', topic: 'shopify-topic', domain: 'shopify-shop-domain', apiVersion: 'shopify-api-version', webhookId: 'shopify-webhook-id', eventId: 'shopify-event-id', triggeredAt: 'shopify-triggered-at' },
} as const;

/** The header set a Shopify delivery uses: the newer `shopify-*` names when it carries `shopify-hmac-sha256`. */
export function shopifyHeaderNames(headers: Headers): (typeof SHOPIFY_HEADERS)[keyof typeof SHOPIFY_HEADERS] {
  return headers[SHOPIFY_HEADERS.events.hmac] ? SHOPIFY_HEADERS.events : SHOPIFY_HEADERS.webhooks;
}

/**
 * As `@shopify/shopify-api`'s `webhooks.validate`: a non-empty body, the HMAC header equal to the base64
 * HMAC-SHA256 of the raw body, then the topic, shop domain, API version and webhook id headers present.
 */
export function verifyShopify(raw: Buffer, headers: Headers, secrets: string[]): Verification {
  if (raw.length === 0) return fail('empty body');
  const names = shopifyHeaderNames(headers);
  const verified = verifyBase64Hmac(raw, headers[names.hmac], secrets, names.hmac);
  if (!verified.ok) return verified;
  const missing = [names.topic, names.domain, names.apiVersion, names.webhookId].filter((name) => !headers[name]);
  return missing.length > 0 ? fail(`missing ${missing.join(', ')}`) : verified;
}

/** Typeform's documented check: the header equals `sha256=` + base64 HMAC-SHA256 of the raw body. */
export function verifyTypeform(raw: Buffer, headers: Headers, secrets: string[]): Verification {
  return verifyBase64Hmac(raw, headers['typeform-signature'], secrets, 'Typeform-Signature', 'sha256=');
}

/** Hotmart signs nothing: `X-HOTMART-HOTTOK` carries the account's static token (HTTPS is the only protection). */
export function verifyHotmart(_raw: Buffer, headers: Headers, secrets: string[]): Verification {
  const token = headers['x-hotmart-hottok'];
  if (!token) return fail('missing X-HOTMART-HOTTOK header');
  // Compare digests so the comparison takes the same time whatever the token's length.
  const given = hmac('leadlog-hottok', token);
  for (const secret of secrets) if (constantTimeEqual(given, hmac('leadlog-hottok', secret))) return { ok: true };
  return fail('X-HOTMART-HOTTOK does not match');
}

export function verifyDelivery(provider: Provider, raw: Buffer, headers: Headers, secrets: string[], nowMs: number): Verification {
  // An empty or blank secret (stored before the rule, or by hand) never verifies anything: anyone could sign with it.
  secrets = secrets.filter((secret) => secret.trim() !== '');
  if (secrets.length === 0) return fail('no secret configured');
  switch (provider) {
    case 'stripe':
      return verifyStripe(raw, headers, secrets, nowMs);
    case 'shopify':
      return verifyShopify(raw, headers, secrets);
    case 'typeform':
      return verifyTypeform(raw, headers, secrets);
    case 'hotmart':
      return verifyHotmart(raw, headers, secrets);
  }
}
