/**
 * PII masking (contract sections 3 and 9), the one module for it: reads without the pii:read scope and
 * everything that leaves DynamoDB (EventBridge, the archive) go through maskEvent. A key is judged by its last
 * dotted segment, normalized (case, `-`, `_`, camelCase), against section 9's names and their synonyms, at any
 * depth; every other string has the e-mail addresses and international phone numbers inside it masked.
 */
import { isRawNumber } from './json.js';

type Masker = (value: string) => string;

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

/** Government ids (SSN, CPF, tax ids, documents): the last four digits. */
export function maskDocument(value: string): string {
  return maskSsn(value);
}

/** Dates of birth: the year only. */
export function maskBirthDate(value: string): string {
  const year = /\b(1[89]\d\d|2\d\d\d)\b/.exec(value)?.[1];
  return year ?? '****';
}

/** IP addresses: IPv4 with its last octet 0, IPv6 cut to its /48. */
export function maskIp(value: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.\d{1,3}$/.exec(value.trim());
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}.0`;
  if (value.includes(':')) {
    const groups = value.trim().split('::')[0]!.split(':').filter(Boolean).slice(0, 3);
    return `${groups.join(':')}::/48`;
  }
  return maskAllButFirst(value);
}

/**
 * A key as masking compares it: its last dotted segment, camelCase split, case folded, separators as `_`:
 * `firstName`, `first-name`, `FIRST_NAME` and `lead.first_name` are all `first_name`.
 */
export function normalizeKey(key: string): string {
  const last = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1) : key;
  return last
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[\s\-]+/g, '_')
    .toLowerCase()
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '');
}

/** Section 9's key names, normalized, by what they hold. */
const MASKERS_BY_KEY = new Map<string, Masker>([
  ...['email', 'email_address', 'e_mail'].map((k) => [k, maskEmail] as const),
  ...['phone', 'phone_number', 'mobile', 'mobile_phone', 'cell', 'cell_phone', 'cellphone', 'whatsapp', 'telephone'].map((k) => [k, maskPhone] as const),
  ...['ssn', 'cpf', 'cnpj', 'document', 'document_number', 'tax_id'].map((k) => [k, maskDocument] as const),
  ...['date_of_birth', 'dob', 'birth_date', 'birthdate'].map((k) => [k, maskBirthDate] as const),
  ...['address', 'street', 'address1', 'address2', 'street_address'].map((k) => [k, maskAllButFirst] as const),
  ...['ip', 'ip_address', 'browser_ip'].map((k) => [k, maskIp] as const),
  ...['first_name', 'last_name', 'name', 'full_name', 'firstname', 'lastname', 'fullname'].map((k) => [k, maskName] as const),
]);

function maskerFor(key: string, extraNameKeys?: ReadonlySet<string>): Masker | undefined {
  const normalized = normalizeKey(key);
  const exact = MASKERS_BY_KEY.get(normalized);
  if (exact) return exact;
  if (normalized.endsWith('_email')) return maskEmail;
  if (normalized.endsWith('_phone')) return maskPhone;
  if (normalized.endsWith('_ip')) return maskIp;
  if (extraNameKeys?.has(normalized)) return maskName;
  return undefined;
}

const EMAIL_IN_TEXT = /[^\s@<>()[\]"',;:]+@[^\s@<>()[\]"',;:]+\.[A-Za-z]{2,}/g;
const PHONE_IN_TEXT = /\+\d[\d\s().\-]{6,22}\d/g;

/** Every e-mail address and international phone number inside a string, masked in place. */
export function maskFreeText(text: string): string {
  let out = text;
  if (out.includes('@')) out = out.replace(EMAIL_IN_TEXT, (email) => maskEmail(email));
  if (out.includes('+')) {
    out = out.replace(PHONE_IN_TEXT, (phone) => {
      const digits = phone.replace(/\D/g, '').length;
      return digits >= 8 && digits <= 15 ? maskPhone(phone) : phone;
    });
  }
  return out;
}

export interface MaskOptions {
  /** An org's own key names to mask as names (PUT /v1/settings/privacy), normalized. */
  extraNameKeys?: ReadonlySet<string>;
}

/** Returns a masked deep copy; the input is never modified. */
export function maskPii<T>(value: T, options: MaskOptions = {}): T {
  return maskValue(value, undefined, options) as T;
}

const TYPED_AS: Record<string, Masker> = { email: maskEmail, phone_number: maskPhone, phone: maskPhone };

function maskValue(value: unknown, masker: Masker | undefined, options: MaskOptions): unknown {
  if (value === null || value === undefined) return value;
  if (isRawNumber(value)) return masker ? masker(value.rawJSON) : value;
  if (Array.isArray(value)) return value.map((item) => maskValue(item, masker, options));
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    // A form answer's `value` is masked as its sibling says: `type` e-mail or phone number, or a `field`/`ref`
    // naming a PII key (`{field: "firstName", value: "Ana"}` is a name).
    const named = (['field', 'ref', 'key'] as const).map((k) => record[k]).find((v): v is string => typeof v === 'string');
    const typed = (typeof record.type === 'string' ? TYPED_AS[normalizeKey(record.type)] : undefined) ?? (named ? maskerFor(named, options.extraNameKeys) : undefined);
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(record)) {
      const own = maskerFor(key, options.extraNameKeys) ?? (typed && key === 'value' ? typed : undefined);
      Object.defineProperty(out, key, { value: maskValue(child, own ?? masker, options), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (masker && (typeof value === 'string' || typeof value === 'number')) return masker(String(value));
  if (typeof value === 'string') return maskFreeText(value);
  return value;
}

/** The parts of an event that can hold PII by key; masked whole. */
export const PII_FIELDS = ['payload', 'raw_payload', 'lead_snapshot', 'appended', 'identity'] as const;
/** Free-text fields of the envelope: e-mail addresses and phone numbers inside them are masked. */
export const FREE_TEXT_FIELDS = ['reason', 'entity_id', 'object_id', 'object_id_ref', 'external_event_id'] as const;

type Maskable = Partial<Record<(typeof PII_FIELDS)[number], unknown> & Record<(typeof FREE_TEXT_FIELDS)[number], string>>;

export function maskEvent<T extends Maskable>(event: T, options: MaskOptions = {}): T {
  const out = { ...event };
  for (const field of PII_FIELDS) if (out[field] !== undefined) out[field] = maskPii(out[field], options);
  for (const field of FREE_TEXT_FIELDS) if (typeof out[field] === 'string') (out as Record<string, unknown>)[field] = maskFreeText(out[field]);
  return out;
}
