/**
 * PII masking (contract section 3). Applied on reads without the pii:read scope and to everything that
 * leaves DynamoDB (EventBridge, archive). A key is judged by its last dotted segment, so `email`,
 * `lead.email` and `customer_email` are all e-mail addresses, at any depth.
 */
import { isRawNumber } from './json.js';

type Masker = (value: string) => string;

const NAME_KEYS = new Set(['first_name', 'last_name', 'name', 'full_name']);

export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0) return maskAllButFirst(value);
  return `${value[0]}***${value.slice(at)}`;
}

/** Keeps the country code and the area code (for +1 three digits, elsewhere two); every other digit becomes '*'. */
export function maskPhone(value: string): string {
  const digits = value.replace(/\D/g, '');
  if (digits.length === 0) return '***';
  let keep: number;
  if (value.trim().startsWith('+')) {
    const countryDigits = digits.startsWith('1') || digits.startsWith('7') ? 1 : 2;
    keep = countryDigits + (countryDigits === 1 && digits.startsWith('1') ? 3 : 2);
  } else {
    keep = digits.length >= 10 ? 3 : 2;
  }
  keep = Math.min(keep, Math.max(digits.length - 4, 0));
  const prefix = value.trim().startsWith('+') ? '+' : '';
  return `${prefix}${digits.slice(0, keep)}${'*'.repeat(digits.length - keep)}`;
}

export function maskSsn(value: string): string {
  const digits = value.replace(/\D/g, '');
  return `***-**-${digits.slice(-4).padStart(4, '*')}`;
}

export function maskName(value: string): string {
  return maskAllButFirst(value);
}

function maskAllButFirst(value: string): string {
  const trimmed = value.trim();
  return trimmed.length === 0 ? value : `${[...trimmed][0]}***`;
}

function maskerFor(key: string): Masker | undefined {
  const last = (key.includes('.') ? key.slice(key.lastIndexOf('.') + 1) : key).toLowerCase();
  if (last === 'email' || last.endsWith('_email')) return maskEmail;
  if (last === 'phone' || last.endsWith('_phone') || last === 'phone_number') return maskPhone;
  if (last === 'ssn') return maskSsn;
  if (NAME_KEYS.has(last)) return maskName;
  return undefined;
}

/** Returns a masked deep copy; the input is never modified. */
export function maskPii<T>(value: T): T {
  return maskValue(value, undefined) as T;
}

function maskValue(value: unknown, masker: Masker | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (isRawNumber(value)) return masker ? masker(value.rawJSON) : value;
  if (Array.isArray(value)) return value.map((item) => maskValue(item, masker));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: maskValue(child, maskerFor(key) ?? masker),
        enumerable: true, writable: true, configurable: true,
      });
    }
    return out;
  }
  if (masker && (typeof value === 'string' || typeof value === 'number')) return masker(String(value));
  return value;
}

/** The parts of an event that can hold PII; ids, types and timings are left as they are. */
export const PII_FIELDS = ['payload', 'raw_payload', 'lead_snapshot', 'appended', 'identity'] as const;

export function maskEvent<T extends Partial<Record<(typeof PII_FIELDS)[number], unknown>>>(event: T): T {
  const out = { ...event };
  for (const field of PII_FIELDS) if (out[field] !== undefined) out[field] = maskPii(out[field]);
  return out;
}
