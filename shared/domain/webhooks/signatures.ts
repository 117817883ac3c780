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

/** `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…]`; HMAC-SHA256 over `${t}.${body}`; any v1 with any secret passes. */
export function verifyStripe(raw: Buffer, headers: Headers, secrets: string[], nowMs: number): Verification {
  const header = headers['stripe-signature'];
  if (!header) return fail('missing Stripe-Signature header');
  let timestamp: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at < 0) continue;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't' && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) signatures.push(Buffer.from(value, 'hex'));
  }
  if (timestamp === undefined || signatures.length === 0) return fail('malformed Stripe-Signature header');
  if (nowMs / 1000 - timestamp > STRIPE_TOLERANCE_SECONDS) return fail('Stripe-Signature timestamp outside the tolerance');
  const signed = Buffer.concat([Buffer.from(`${timestamp}.`), raw]);
  for (const secret of secrets) {
    const expected = hmac(secret, signed);
    if (signatures.some((signature) => constantTimeEqual(signature, expected))) return { ok: true };
  }
  return fail('no Stripe signature matches');
}

function verifyBase64Hmac(raw: Buffer, given: string | undefined, secrets: string[], name: string): Verification {
  if (!given) return fail(`missing ${name} header`);
  const signature = Buffer.from(given.trim(), 'base64');
  for (const secret of secrets) if (constantTimeEqual(signature, hmac(secret, raw))) return { ok: true };
  return fail(`${name} does not match`);
}

/** `X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of the raw body. */
export function verifyShopify(raw: Buffer, headers: Headers, secrets: string[]): Verification {
  return verifyBase64Hmac(raw, headers['x-shopify-hmac-sha256'], secrets, 'X-Shopify-Hmac-Sha256');
}

/** `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>`. */
export function verifyTypeform(raw: Buffer, headers: Headers, secrets: string[]): Verification {
  const header = headers['typeform-signature'];
  if (!header) return fail('missing Typeform-Signature header');
  if (!header.startsWith('sha256=')) return fail('malformed Typeform-Signature header');
  return verifyBase64Hmac(raw, header.slice('sha256='.length), secrets, 'Typeform-Signature');
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
