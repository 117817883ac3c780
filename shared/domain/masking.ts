/**
 * PII masking (contract sections 3 and 9), the one module for it: reads without the pii:read scope and
 * everything that leaves DynamoDB (EventBridge, the archive) go through maskEvent. A key is judged by its last
 * dotted segment, normalized (case, `-`, `_`, camelCase), against section 9's names and their synonyms, at any
 * depth; every other string has the e-mail addresses, international phone numbers and punctuated North American
 * ones inside it masked.
 */
import { createHmac, createSecretKey, type KeyObject } from 'node:crypto';
import { sha256Hex } from './canonical.js';
import { isRawNumber, parseJsonLossless } from './json.js';

type Masker = (value: string) => string;

export function maskEmail(value: string): string {
  const at = value.lastIndexOf('@');
  if (at <= 0) return maskAllButFirst(value);
  return `${value[0]}***${value.slice(at)}`;
}

/** Keeps the country code and the area code (for +1 three digits, elsewhere two); every other digit becomes '*'. */
export function maskPhone(value: string): string {
  const digits = digitsOf(value);
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
  const digits = digitsOf(value);
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
  return yearIn(value) ?? '****';
}

/*
 * Values under a PII key can be as long as any input: what masking reads from them is scanned in one pass (no
 * regular expression over unbounded input; the IP pattern below is anchored and bounded, so it fails within 16
 * characters).
 */

/** The ASCII digits of a value, in order. */
function digitsOf(value: string): string {
  let out = '';
  let runStart = -1;
  for (let i = 0; i <= value.length; i++) {
    const digit = i < value.length && isDigitCode(value.charCodeAt(i));
    if (digit && runStart < 0) runStart = i;
    if (!digit && runStart >= 0) {
      out += value.slice(runStart, i);
      runStart = -1;
    }
  }
  return out;
}

const isWordCode = (c: number) => isDigitCode(c) || isLetterCode(c) || c === 95;

/** The first four-digit year 1800–2999 standing as a word of its own (what `\b(1[89]\d\d|2\d\d\d)\b` finds). */
function yearIn(value: string): string | undefined {
  let start = 0;
  for (let i = 0; i <= value.length; i++) {
    if (i < value.length && isWordCode(value.charCodeAt(i))) continue;
    if (i - start === 4) {
      const word = value.slice(start, i);
      if ([...word].every((c) => c >= '0' && c <= '9') && (word[0] === '2' || (word[0] === '1' && (word[1] === '8' || word[1] === '9')))) return word;
    }
    start = i + 1;
  }
  return undefined;
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
 * `firstName`, `first-name`, `FIRST_NAME` and `lead.first_name` are all `first_name`. One linear pass (a key is
 * input like any other and may be megabytes long): `_` before an upper-case letter that follows a lower-case
 * letter or digit, or that starts a word after an acronym (`IPAddress` → `ip_address`).
 */
export function normalizeKey(key: string): string {
  const last = key.includes('.') ? key.slice(key.lastIndexOf('.') + 1) : key;
  // Code units into a buffer (at most two per character: one may be preceded by `_`), `_` never twice in a row.
  const buffer = new Uint16Array(last.length * 2);
  let length = 0;
  const underscore = () => {
    if (length > 0 && buffer[length - 1] !== UNDERSCORE) buffer[length++] = UNDERSCORE;
  };
  for (let i = 0; i < last.length; i++) {
    const c = last.charCodeAt(i);
    if (c === UNDERSCORE || c === HYPHEN || isSpaceCode(c)) {
      underscore();
      continue;
    }
    if (isUpperCode(c) && i > 0) {
      const before = last.charCodeAt(i - 1);
      if (isLowerCode(before) || isDigitCode(before) || (isUpperCode(before) && i + 1 < last.length && isLowerCode(last.charCodeAt(i + 1)))) underscore();
    }
    buffer[length++] = c;
  }
  if (length > 0 && buffer[length - 1] === UNDERSCORE) length--;
  let out = '';
  for (let i = 0; i < length; i += 8192) out += String.fromCharCode(...buffer.subarray(i, Math.min(length, i + 8192)));
  return out.toLowerCase();
}

const UNDERSCORE = 95, HYPHEN = 45;
const isUpperCode = (c: number) => c >= 65 && c <= 90;
const isLowerCode = (c: number) => c >= 97 && c <= 122;

/** Exactly the characters of the regular expression class `\s`. */
function isSpaceCode(code: number): boolean {
  return (code >= 9 && code <= 13) || code === 32 || code === 0xa0 || code === 0x1680 || (code >= 0x2000 && code <= 0x200a)
    || code === 0x2028 || code === 0x2029 || code === 0x202f || code === 0x205f || code === 0x3000 || code === 0xfeff;
}

/** Fully replaced: credentials are never shown in part. */
export const maskSecret: Masker = () => '***';

/** A list of addresses (X-Forwarded-For: `client, proxy1, proxy2`): each part masked as an IP. */
const maskIpList: Masker = (value) => value.split(',').map((part) => maskIp(part.trim())).join(', ');

/**
 * Section 9's key names, normalized, by what they hold; with the synonyms real forms and providers use (Portuguese
 * and Spanish field names of Brazilian and Latin American forms, OAuth and HTTP credential names).
 */
const MASKERS_BY_KEY = new Map<string, Masker>([
  ...['email', 'email_address', 'e_mail'].map((k) => [k, maskEmail] as const),
  ...['phone', 'phone_number', 'mobile', 'mobile_phone', 'mobile_number', 'cell', 'cell_phone', 'cellphone', 'cell_number', 'whatsapp', 'telephone',
    'tel', 'telefone', 'telefono', 'celular', 'contact_number', 'home_phone', 'work_phone', 'phone_1', 'phone_2', 'phone_3'].map((k) => [k, maskPhone] as const),
  ...['ssn', 'social_security_number', 'cpf', 'cnpj', 'rg', 'document', 'document_number', 'tax_id', 'national_id', 'passport', 'passport_number',
    'drivers_license', 'card_number', 'pan', 'cc_number', 'credit_card', 'credit_card_number'].map((k) => [k, maskDocument] as const),
  ...['date_of_birth', 'dob', 'birth_date', 'birthdate', 'birthday', 'data_nascimento', 'data_de_nascimento', 'fecha_nacimiento', 'fecha_de_nacimiento']
    .map((k) => [k, maskBirthDate] as const),
  ...['address', 'street', 'address1', 'address2', 'address_1', 'address_2', 'address_line1', 'address_line2', 'address_line_1', 'address_line_2',
    'street_address', 'endereco', 'logradouro', 'direccion'].map((k) => [k, maskAllButFirst] as const),
  ...['ip', 'ip_address', 'browser_ip', 'ipv4', 'ipv6', 'remote_addr'].map((k) => [k, maskIp] as const),
  ...['x_forwarded_for', 'forwarded_for'].map((k) => [k, maskIpList] as const),
  ...['first_name', 'last_name', 'name', 'full_name', 'firstname', 'lastname', 'fullname', 'surname', 'given_name', 'family_name', 'fname', 'lname',
    'middle_name', 'nome', 'nome_completo', 'sobrenome', 'nombre', 'apellido', 'apellidos'].map((k) => [k, maskName] as const),
  ...['password', 'passwd', 'pwd', 'secret', 'token', 'authorization', 'proxy_authorization', 'api_key', 'apikey', 'x_api_key', 'cookie', 'set_cookie',
    'access_token', 'refresh_token', 'id_token', 'client_secret', 'private_key'].map((k) => [k, maskSecret] as const),
]);

/** Suffixes that name a credential whatever comes before them (`stripe_secret`, `session_token`, `db_password`). */
const SECRET_SUFFIXES = ['_token', '_secret', '_password', '_api_key', '_private_key'];

/**
 * A numbered field (`phone_4`, `email_2`, `address3`, `first_name_2`: forms and LeadConduit's standard field ids
 * number repeated fields) is masked as the field it numbers: the trailing number (one or two digits, with or without
 * `_`) is dropped before the name is looked up.
 */
const NUMBERED = /^(.*[a-z])_?\d{1,2}$/;

function maskerFor(key: string, extraNameKeys?: ReadonlySet<string>): Masker | undefined {
  const normalized = normalizeKey(key);
  const exact = MASKERS_BY_KEY.get(normalized);
  if (exact) return exact;
  const numbered = normalized.length <= 64 ? NUMBERED.exec(normalized)?.[1] : undefined;
  if (numbered !== undefined && numbered !== normalized) {
    const base = maskerFor(numbered, extraNameKeys);
    if (base) return base;
  }
  if (normalized.endsWith('_email')) return maskEmail;
  if (normalized.endsWith('_phone')) return maskPhone;
  if (normalized.endsWith('_ip')) return maskIp;
  if (SECRET_SUFFIXES.some((suffix) => normalized.endsWith(suffix))) return maskSecret;
  if (extraNameKeys?.has(normalized)) return maskName;
  return undefined;
}

/*
 * Free text is scanned, never matched with a backtracking regular expression: every character is looked at a
 * bounded number of times, so masking costs time linear in the input's size whatever the input (contract section
 * 3: a 1 MB `aaaa…@` string is one pass, not a quadratic search). The scanners find what these patterns describe:
 *   e-mail  [^\s@<>()[\]"',;:=&]+ @ [^\s@<>()[\]"',;:=&]+ \. [A-Za-z]{2,}   (`@` also written `%40`, form-encoded)
 *   phone   \+ \d [\d\s().\-]{6,22} \d  with 8 to 15 digits                 (`+` also `%2B`, then `+`/`%20` as spaces)
 *   NANP    \(?[2-9]\d\d\)? ?[-. ]?[2-9]\d\d[-. ]\d{4}  national, punctuated (`nationalPhoneAt` says exactly which)
 * Each match is replaced by its masked form; scanning resumes after it, as a global replace would.
 */

// The scanners read UTF-16 code units (charCodeAt: no string made per character).
const AT = 64, PERCENT = 37, DOT = 46, PLUS = 43, ZERO = 48, NINE = 57, FOUR = 52, TWO = 50;
const isDigitCode = (c: number) => c >= ZERO && c <= NINE;
const isLetterCode = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
/** `@ < > ( ) [ ] " ' , ; : = &`: where an e-mail address's local part or domain ends (with `\s`). */
const EMAIL_SEPARATORS = new Set([...'@<>()[]"\',;:=&'].map((c) => c.charCodeAt(0)));

function isEmailSeparator(code: number): boolean {
  return EMAIL_SEPARATORS.has(code) || isSpaceCode(code);
}

/** The length of the `@` at i: 1 for `@`, 3 for the form-encoded `%40`, else 0. */
function atSignAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === AT) return 1;
  return c === PERCENT && text.charCodeAt(i + 1) === FOUR && text.charCodeAt(i + 2) === ZERO ? 3 : 0;
}

/** Every e-mail address in the text, masked (`ana@example.com` → `a***@example.com`); one linear pass. */
function maskEmailsInText(text: string): string {
  if (!text.includes('@') && !text.includes('%40')) return text;
  let out = '';
  let copiedTo = 0; // text[copiedTo…] is not yet in out; also where the next local part may start at the earliest
  let runStart = 0; // the start of the current run of characters that can belong to a local part
  for (let i = 0; i < text.length; i++) {
    const at = atSignAt(text, i);
    if (at === 0) {
      if (isEmailSeparator(text.charCodeAt(i))) runStart = i + 1;
      continue;
    }
    const localStart = Math.max(runStart, copiedTo);
    const end = localStart < i ? emailDomainEnd(text, i + at) : -1;
    if (end < 0) {
      runStart = i + at;
      i += at - 1;
      continue;
    }
    out += text.slice(copiedTo, localStart) + String.fromCodePoint(text.codePointAt(localStart)!) + '***' + text.slice(i, end);
    copiedTo = end;
    runStart = end;
    i = end - 1;
  }
  return copiedTo === 0 ? text : out + text.slice(copiedTo);
}

/**
 * Where the address whose domain starts at `from` ends, or -1: the domain is the run of non-separators from
 * there; it ends after the letters that follow its last `.` (at least one character after the `@` before it)
 * that has two or more letters after it. Linear in the run's length.
 */
function emailDomainEnd(text: string, from: number): number {
  let runEnd = from;
  while (runEnd < text.length && !isEmailSeparator(text.charCodeAt(runEnd)) && atSignAt(text, runEnd) === 0) runEnd++;
  let letters = 0; // the letters from k + 1 on
  for (let k = runEnd - 1; k > from; k--) {
    const c = text.charCodeAt(k);
    if (c === DOT && letters >= 2) return k + 1 + letters;
    letters = isLetterCode(c) ? letters + 1 : 0;
  }
  return -1;
}

const PHONE_MIN_DIGITS = 8;
const PHONE_MAX_DIGITS = 15;
/** The characters after the first digit: up to 22 in between and the last digit (as written); more when form-encoded. */
const PHONE_MAX_TAIL = 23;
const PHONE_MAX_TAIL_ENCODED = 3 * 23;

/** Every international phone number in the text (`+55 11 99999-8888` → `+5511*********`); one linear pass. */
function maskPhonesInText(text: string): string {
  if (!text.includes('+') && !text.includes('%2')) return text;
  let out = '';
  let copiedTo = 0;
  for (let i = 0; i < text.length; i++) {
    const c0 = text.charCodeAt(i);
    const plus = c0 === PLUS ? 1 : c0 === PERCENT && text.charCodeAt(i + 1) === TWO && (text[i + 2] === 'B' || text[i + 2] === 'b') ? 3 : 0;
    if (plus === 0 || !isDigitCode(text.charCodeAt(i + plus))) continue;
    const encoded = plus === 3;
    const first = i + plus;
    const limit = Math.min(text.length, first + 1 + (encoded ? PHONE_MAX_TAIL_ENCODED : PHONE_MAX_TAIL));
    let lastDigit = first;
    let digits = 1;
    let digitsToLast = 1;
    for (let k = first + 1; k < limit; k++) {
      const c = text.charCodeAt(k);
      if (isDigitCode(c)) {
        lastDigit = k;
        digitsToLast = ++digits;
      } else if (encoded && c === PERCENT && text.charCodeAt(k + 1) === TWO && text.charCodeAt(k + 2) === ZERO) {
        k += 2;
      } else if (!(c === 40 || c === 41 || c === DOT || c === 45 || isSpaceCode(c) || (encoded && c === PLUS))) {
        break; // not one of ( ) . - \s (nor, form-encoded, + as a space)
      }
    }
    if (lastDigit - first < 7) continue; // at least 6 characters between the first and the last digit
    const end = lastDigit + 1;
    if (digitsToLast >= PHONE_MIN_DIGITS && digitsToLast <= PHONE_MAX_DIGITS) {
      const digitsOnly = text.slice(first, end).replace(/\D/g, '');
      const masked = maskPhone(`+${digitsOnly}`);
      out += text.slice(copiedTo, i) + (encoded ? text.slice(i, i + 3) + masked.slice(1) : masked);
    } else {
      out += text.slice(copiedTo, end);
    }
    copiedTo = end;
    i = end - 1;
  }
  return copiedTo === 0 ? text : out + text.slice(copiedTo);
}

/**
 * The length of a North American number written the national way at i (`(512) 789-1111`, `(512)789-1111`,
 * `512-789-1111`, `512.789.1111`, `512 789 1111`), or 0: an area code and an exchange each starting 2–9 (NANP), the
 * groups apart by one `-`, `.` or space (after `)`, an optional space), no digit or letter on either side. Bare digit
 * runs are not taken (a 10-digit run is as often an epoch second or an order number); international numbers are
 * `maskPhonesInText`'s. At most 14 characters are looked at: the scan stays linear.
 */
function nationalPhoneAt(text: string, i: number): number {
  const before = i > 0 ? text.charCodeAt(i - 1) : -1;
  if (isDigitCode(before)) return 0;
  let k = i;
  if (text.charCodeAt(k) === 40) { // (512) 789-1111: `(` after a word too, as in `call(512) 789-1111`
    if (text.charCodeAt(k + 4) !== 41 || !isTwoToNineCode(text.charCodeAt(k + 1)) || !digitsAt(text, k + 2, 2)) return 0;
    k += 5;
    if (text.charCodeAt(k) === 32) k++;
  } else {
    if (!isNanpSeparator(text.charCodeAt(k + 3)) || isLetterCode(before) || before === 95 || !isTwoToNineCode(text.charCodeAt(k)) || !digitsAt(text, k + 1, 2)) return 0;
    k += 4;
  }
  if (!isNanpSeparator(text.charCodeAt(k + 3)) || !isTwoToNineCode(text.charCodeAt(k)) || !digitsAt(text, k + 1, 2) || !digitsAt(text, k + 4, 4)) return 0;
  k += 8;
  return isDigitCode(text.charCodeAt(k)) ? 0 : k - i;
}

const isTwoToNineCode = (c: number) => c >= TWO && c <= NINE;
/** `-`, `.` or a space: what separates a national number's groups. */
const isNanpSeparator = (c: number) => c === 45 || c === DOT || c === 32;
function digitsAt(text: string, at: number, n: number): boolean {
  for (let k = at; k < at + n; k++) if (!isDigitCode(text.charCodeAt(k))) return false;
  return true;
}

/** Every national North American number in the text, the area code kept (`(512) 789-1111` → `(512) ***-****`); one linear pass. */
function maskNationalPhonesInText(text: string): string {
  let out = '';
  let copiedTo = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 40 && !(c >= TWO && c <= NINE)) continue;
    const length = nationalPhoneAt(text, i);
    if (length === 0) continue;
    const areaEnd = c === 40 ? i + 5 : i + 3;
    out += text.slice(copiedTo, areaEnd) + text.slice(areaEnd, i + length).replace(/\d/g, '*');
    copiedTo = i + length;
    i = copiedTo - 1;
  }
  return copiedTo === 0 ? text : out + text.slice(copiedTo);
}

/** How deep JSON held in a string is opened to be masked key by key (a JSON string inside a JSON string…). */
const MAX_EMBEDDED_JSON_DEPTH = 3;

/**
 * Every e-mail address and international phone number inside a string, masked in place; a string that holds a
 * JSON object or array (a body kept as text) is masked key by key as any object is. Linear in the text's size.
 */
export function maskFreeText(text: string, options: MaskOptions = {}): string {
  const embedded = maskEmbeddedJson(text, options);
  if (embedded !== undefined) return embedded;
  return maskContacts(text);
}

function maskEmbeddedJson(text: string, options: MaskOptions): string | undefined {
  const depth = options.embeddedDepth ?? 0;
  if (depth >= MAX_EMBEDDED_JSON_DEPTH || text.length < 2) return undefined;
  let from = 0;
  let to = text.length - 1;
  while (from < to && isSpaceCode(text.charCodeAt(from))) from++;
  while (to > from && isSpaceCode(text.charCodeAt(to))) to--;
  const first = text[from];
  const last = text[to];
  if (!((first === '{' && last === '}') || (first === '[' && last === ']'))) return undefined;
  let parsed: unknown;
  try {
    parsed = parseJsonLossless(text);
  } catch {
    return undefined; // not JSON after all (or too deep): free text
  }
  // Re-serialized only when something in it was masked: a JSON string without PII reads exactly as it was.
  const masked = JSON.stringify(maskValue(parsed, undefined, { ...options, embeddedDepth: depth + 1 }));
  return masked === JSON.stringify(parsed) ? text : masked;
}

/** The e-mails and phones of a text masked, nothing else looked at (what ids and alert dimensions show). */
export function maskContacts(text: string): string {
  return maskNationalPhonesInText(maskPhonesInText(maskEmailsInText(text)));
}

/** The length of the pseudonym's digest suffix (hex characters of HMAC-SHA256). */
const ID_DIGEST_LENGTH = 12;
/** The shortest pseudonym key accepted: as long as HMAC-SHA256's output (RFC 2104). */
export const MIN_PSEUDONYM_KEY_LENGTH = 32;

/*
 * The deployment's pseudonym key, one per process: PSEUDONYM_SECRET locally, the Secrets Manager secret
 * PSEUDONYM_SECRET_ARN names in AWS (read once per cold start, before the function masks anything). It never
 * rotates: years of archive rows carry pseudonyms made with it, and erasure and exports find those rows by
 * computing the pseudonym again. Without it, pseudonymDigest throws: never an unkeyed digest, which anyone can
 * compute (a phone's hidden digits are 10^7 guesses).
 */
let pseudonymKey: KeyObject | undefined;

/** Sets the process's pseudonym key (at least 32 characters); setting the same key again is harmless. */
export function configurePseudonymKey(key: string): void {
  if (typeof key !== 'string' || key.length < MIN_PSEUDONYM_KEY_LENGTH) {
    throw new Error(`leadlog: the pseudonym key must be at least ${MIN_PSEUDONYM_KEY_LENGTH} characters`);
  }
  pseudonymKey = createSecretKey(Buffer.from(key, 'utf8'));
}

/** HMAC-SHA256 of the data under the pseudonym key, hex: only whoever holds the key can compute or confirm one. */
export function pseudonymDigest(data: string | Uint8Array): string {
  if (!pseudonymKey) {
    throw new Error('leadlog: no pseudonym key configured (configurePseudonymKey: PSEUDONYM_SECRET locally, PSEUDONYM_SECRET_ARN in AWS)');
  }
  return createHmac('sha256', pseudonymKey).update(data).digest('hex');
}

/**
 * An id (`lead_id`, `flow_id`, `step_id`, `entity_id`, an alert's dimension) as it leaves for a reader without
 * pii:read, the bus and the archive: unchanged when nothing in it is PII, else its e-mails and phones masked plus
 * `~` and a keyed digest of the whole id (pseudonymDigest), so two ids that mask alike (`ana@x.io`, `alex@x.io`)
 * stay two ids: the archive's rows of one lead stay one lead's, findable for erasure and exports (maskId of the
 * real id), and one buyer's alerts are never merged with another's. Without the key, the digest confirms no
 * guess. Idempotent: a masked id masks to itself. Throws when no key is configured.
 */
export function maskId(id: string): string {
  return pseudonymWith(id, pseudonymDigest);
}

/**
 * The pseudonym as it was written before the key (plain SHA-256, which anyone can recompute). Only to FIND archive
 * rows and export files written before then (erasure and export filters match both forms); never to write one.
 */
export function legacyMaskId(id: string): string {
  return pseudonymWith(id, sha256Hex);
}

/** The id unchanged when nothing in it is PII; else its e-mails and phones masked, `~`, and `digest(id)` cut short. */
function pseudonymWith(id: string, digest: (id: string) => string): string {
  const masked = maskContacts(id);
  return masked === id ? id : `${masked}~${digest(id).slice(0, ID_DIGEST_LENGTH)}`;
}

/** Every form an id may have in the archive: as it is, its pseudonym, and its pre-key pseudonym (no repeats). */
export function archivedIdForms(ids: readonly string[]): string[] {
  return [...new Set(ids.flatMap((id) => [id, maskId(id), legacyMaskId(id)]))];
}

/** An error as a log may hold it: its message and stack with e-mails and phones masked. */
export function maskError(error: unknown): { name: string; message: string; stack?: string } {
  const e = error instanceof Error ? error : new Error(String(error));
  try {
    return { name: e.name, message: maskFreeText(e.message, { embeddedDepth: MAX_EMBEDDED_JSON_DEPTH }), ...(e.stack ? { stack: maskFreeText(e.stack, { embeddedDepth: MAX_EMBEDDED_JSON_DEPTH }) } : {}) };
  } catch {
    // Logging never fails and never holds what it could not mask (a function without the pseudonym key, say).
    return { name: String(e.name).slice(0, 100), message: '[withheld: the message could not be masked]' };
  }
}

export interface MaskOptions {
  /** An org's own key names to mask as names (PUT /v1/settings/privacy), normalized. */
  extraNameKeys?: ReadonlySet<string>;
  /** Internal: how many JSON-in-a-string levels masking is inside (bounds the work on nested bodies). */
  embeddedDepth?: number;
}

/** Returns a masked deep copy; the input is never modified. */
export function maskPii<T>(value: T, options: MaskOptions = {}): T {
  return maskValue(value, undefined, options) as T;
}

const TYPED_AS: Record<string, Masker> = { email: maskEmail, phone_number: maskPhone, phone: maskPhone };
/** The parts of a value object (`{value}`, LeadConduit's typed values `{normal, raw, …}`) that hold the value itself. */
const VALUE_PARTS = new Set(['value', 'normal', 'raw']);
/**
 * The parts of a typed value under a PII key that describe it without identifying anyone (`{normal, raw, valid,
 * type: "mobile", country_code, domain, …}`): kept. Every other part (`user`, `line`, `exchange`, `number`, …) is
 * masked as the key's kind.
 */
const TYPED_VALUE_METADATA = new Set(['valid', 'type', 'country_code', 'domain', 'host', 'tld', 'area', 'reason', 'is_free', 'is_disposable', 'is_tollfree']);

/** Whether a key names a credential (section 9's secrets: `password`, `token`, `api_key`, `…_secret`, `x-auth-token`…). */
export function isSecretKey(key: string): boolean {
  return maskerFor(key) === maskSecret;
}

/** The content type an HTTP message object's `headers` name (any case), lower-cased, without parameters. */
export function contentTypeOf(headers: unknown): string | undefined {
  if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) return undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.trim().toLowerCase() === 'content-type' && typeof value === 'string') return value.split(';')[0]!.trim().toLowerCase();
  }
  return undefined;
}

const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';

/** `+` as a space, then percent-decoded; undefined when the encoding is malformed. */
function formDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/**
 * A form-encoded body (or a URL's query) masked field by field as any object is: each value by its field's name
 * (`phone_1=5127891111`, `ssn=…`), or as free text; a part left unchanged keeps its bytes, a masked one is re-encoded.
 * One pass over the parts: linear in the text's size.
 */
export function maskFormEncoded(text: string, options: MaskOptions = {}): string {
  let changed = false;
  const parts = text.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq <= 0) return part;
    const key = formDecode(part.slice(0, eq));
    const value = formDecode(part.slice(eq + 1));
    if (key === undefined || value === undefined) {
      const contacts = maskContacts(part); // malformed encoding: what the scanners find is still masked
      changed ||= contacts !== part;
      return contacts;
    }
    const fieldMasker = maskerFor(key, options.extraNameKeys);
    const masked = value === '' ? value : fieldMasker ? fieldMasker(value) : maskFreeText(value, options);
    const maskedKey = maskContacts(key);
    if (masked === value && maskedKey === key) return part;
    changed = true;
    return `${encodeURIComponent(maskedKey)}=${encodeURIComponent(masked)}`;
  });
  return changed ? parts.join('&') : text;
}

/** Whether a body of this content type (or, without one, of this shape) is XML: `application/xml`, `text/xml`, `…+xml`. */
function isXmlBody(contentType: string | undefined, body: string): boolean {
  if (contentType !== undefined && contentType !== 'text/plain') return contentType.endsWith('/xml') || contentType.endsWith('+xml');
  const start = body.search(/\S/);
  return start >= 0 && body[start] === '<' && body.trimEnd().endsWith('>');
}

/** An XML name without its namespace prefix (`ns:phone_1` → `phone_1`). */
const localName = (name: string): string => name.slice(name.lastIndexOf(':') + 1);
/** Attributes that name the field an element holds (`<field name="phone_1">…</field>`, `<param key="email">`). */
const XML_FIELD_ATTRIBUTES = new Set(['name', 'key', 'field', 'id']);
const isXmlSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * A start tag's attributes from `from` on, each value masked by its own name (or the enclosing element's kind, or
 * as free text's contacts); `onField` hears the field a `name`/`key`/`field`/`id` attribute names. Scanned by hand,
 * one pass over the tag (a regular expression for `name="value"` backtracks quadratically on a long unquoted name).
 */
function maskXmlAttributes(tag: string, from: number, options: MaskOptions, inherited: Masker | undefined, onField: (field: string) => void): string {
  let out = '';
  let j = from;
  while (j < tag.length) {
    const c = tag[j];
    if (isXmlSpace(c) || c === '/' || c === '>') {
      out += c;
      j++;
      continue;
    }
    let k = j;
    while (k < tag.length && !isXmlSpace(tag[k]) && tag[k] !== '=' && tag[k] !== '/' && tag[k] !== '>') k++;
    const attribute = tag.slice(j, k);
    let m = k;
    while (isXmlSpace(tag[m])) m++;
    if (tag[m] !== '=') {
      out += tag.slice(j, m);
      j = m;
      continue;
    }
    m++;
    while (isXmlSpace(tag[m])) m++;
    const quote = tag[m] === '"' || tag[m] === "'" ? tag[m]! : '';
    const closing = quote ? tag.indexOf(quote, m + 1) : -1;
    // An unclosed quote: the value runs to the tag's end (its `>`).
    let valueEnd = quote ? (closing < 0 ? tag.length - 1 : closing) : m;
    if (!quote) while (valueEnd < tag.length && !isXmlSpace(tag[valueEnd]) && tag[valueEnd] !== '>') valueEnd++;
    const valueStart = quote ? m + 1 : m;
    const value = tag.slice(valueStart, valueEnd);
    const attributeName = localName(attribute);
    const namesField = XML_FIELD_ATTRIBUTES.has(attributeName.toLowerCase()) && maskerFor(value, options.extraNameKeys) !== undefined;
    if (namesField) onField(value);
    const masker = namesField ? undefined : maskerFor(attributeName, options.extraNameKeys) ?? inherited;
    out += tag.slice(j, valueStart) + (value === '' ? value : masker ? masker(value) : maskContacts(value)) + (closing >= 0 ? quote : '');
    j = closing >= 0 ? closing + 1 : valueEnd;
  }
  return out;
}

/**
 * An XML body masked element by element as any object is key by key (LeadConduit's recipients often take XML): an
 * element's text by the element's name (`<phone_1>5127891111</phone_1>`, `<ssn>`, `<dob>`), or by the field a `name`/
 * `key`/`field` attribute names (`<field name="phone_1">…`); a PII element's children inherit its kind (`<address_1>
 * <line>…</line></address_1>`, as a typed value's parts do); attribute values by their own names; CDATA as text;
 * every other text as free text. One pass over the text with a stack of the open elements' maskers: linear in its
 * size; a malformed document is masked as far as it can be read and the rest as free text (never left whole).
 */
function maskXml(text: string, options: MaskOptions): string {
  const stack: (Masker | undefined)[] = [];
  const current = () => stack[stack.length - 1];
  /** Each element name's masker, looked up once per document (a document repeats its names). */
  const elementMaskers = new Map<string, Masker | undefined>();
  const maskText = (segment: string): string => {
    const masker = current();
    if (!masker) return maskFreeText(segment, options);
    const start = segment.search(/\S/);
    if (start < 0) return segment;
    const end = segment.trimEnd().length;
    return segment.slice(0, start) + masker(segment.slice(start, end)) + segment.slice(end);
  };
  let out = '';
  let i = 0;
  while (i < text.length) {
    const lt = text.indexOf('<', i);
    if (lt < 0) {
      out += maskText(text.slice(i));
      break;
    }
    if (lt > i) out += maskText(text.slice(i, lt));
    if (text.startsWith('<![CDATA[', lt)) {
      const close = text.indexOf(']]>', lt + 9);
      const end = close < 0 ? text.length : close;
      out += '<![CDATA[' + maskText(text.slice(lt + 9, end)) + (close < 0 ? '' : ']]>');
      i = close < 0 ? text.length : close + 3;
      continue;
    }
    const gt = text.indexOf('>', lt + 1);
    if (gt < 0) {
      out += maskFreeText(text.slice(lt), { ...options, embeddedDepth: MAX_EMBEDDED_JSON_DEPTH });
      break;
    }
    const tag = text.slice(lt, gt + 1);
    i = gt + 1;
    const second = tag[1];
    if (second === '/') {
      stack.pop();
      out += tag;
      continue;
    }
    if (second === '?' || second === '!') {
      out += maskContacts(tag); // a declaration or comment: what the scanners find in it is masked
      continue;
    }
    const nameEnd = tag.slice(1).search(/[\s/>]/) + 1;
    const name = localName(tag.slice(1, nameEnd));
    let own = elementMaskers.has(name) ? elementMaskers.get(name) : maskerFor(name, options.extraNameKeys);
    elementMaskers.set(name, own);
    const attributes = maskXmlAttributes(tag, nameEnd, options, current(), (field) => {
      own ??= maskerFor(field, options.extraNameKeys);
    });
    out += tag.slice(0, nameEnd) + attributes;
    if (!tag.endsWith('/>')) stack.push(own ?? current());
  }
  return out;
}

const isJsonType = (contentType: string | undefined) => contentType !== undefined && (contentType.endsWith('/json') || contentType.endsWith('+json'));

/**
 * Whether a body is a form by its shape (`first_name=Joe&ssn=123-45-6789`): no whitespace, and every `&`-separated
 * part a non-empty name, `=`, a value. A body whose content type is missing or says otherwise (text/plain,
 * application/octet-stream: an integration's mislabel) but has this shape is masked field by field, as JSON and XML
 * are opened by shape; the free-text rules would let `ssn=…`, `dob=…`, `first_name=…` through. One pass.
 */
function isFormShaped(body: string): boolean {
  let partStart = 0;
  let sawEquals = false;
  for (let i = 0; i <= body.length; i++) {
    const c = i < body.length ? body.charCodeAt(i) : 38;
    if (isSpaceCode(c)) return false;
    if (c === 61 && !sawEquals) {
      if (i === partStart) return false; // `=value`: no name
      sawEquals = true;
    } else if (c === 38) {
      if (!sawEquals) return false; // a part without `=`
      partStart = i + 1;
      sawEquals = false;
    }
  }
  return body.length > 0;
}

/** A URL with its query masked as a form (`?email=…&phone_1=…`), the rest as free text. */
function maskUrl(text: string, options: MaskOptions): string {
  const q = text.indexOf('?');
  if (q < 0) return maskFreeText(text, options);
  const hash = text.indexOf('#', q);
  const end = hash < 0 ? text.length : hash;
  return maskFreeText(text.slice(0, q), options) + '?' + maskFormEncoded(text.slice(q + 1, end), options) + maskFreeText(text.slice(end), options);
}

/**
 * An HTTP message object (LeadConduit's request and response: `{headers, body, uri, …}`): its body masked by its
 * content type (a form field by field; XML element by element; JSON key by key, as maskFreeText opens it; anything
 * else as free text, unless its shape is a form's or XML's: `isFormShaped`, `isXmlBody`), its
 * `uri`/`url` query field by field. Undefined for other keys or shapes.
 */
function maskHttpPart(record: Record<string, unknown>, key: string, child: unknown, options: MaskOptions): string | undefined {
  if (typeof child !== 'string') return undefined;
  if (key === 'body' && 'headers' in record) {
    const contentType = contentTypeOf(record.headers);
    if (contentType === FORM_CONTENT_TYPE) return maskFormEncoded(child, options);
    if (isXmlBody(contentType, child)) return maskXml(child, options);
    if (!isJsonType(contentType) && isFormShaped(child)) return maskFormEncoded(child, options);
    return maskFreeText(child, options);
  }
  if ((key === 'uri' || key === 'url') && child.includes('?')) return maskUrl(child, options);
  return undefined;
}

const PHONE_TAIL_PARTS = new Set(['number', 'extension']);

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
      const own = maskerFor(key, options.extraNameKeys) ?? (typed && VALUE_PARTS.has(key) ? typed : undefined);
      // Under a PII key, a typed value's descriptive parts stay; everything else is masked as that key's kind.
      const partOf = masker && !own && typeof child !== 'object' ? normalizeKey(key) : undefined;
      // A typed phone's `number` (exchange and line, 7 digits) and `extension` hold no area code to keep: hidden whole,
      // so they never show the exchange's first digits (`exchange` and `line` are short enough to be masked whole anyway).
      const inherited = partOf !== undefined && TYPED_VALUE_METADATA.has(partOf) ? undefined
        : partOf !== undefined && masker === maskPhone && PHONE_TAIL_PARTS.has(partOf) ? maskSecret : masker;
      const http = own ?? inherited ? undefined : maskHttpPart(record, key, child, options);
      Object.defineProperty(out, maskKey(key, out), { value: http ?? maskValue(child, own ?? inherited, options), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  if (masker && (typeof value === 'string' || typeof value === 'number')) return masker(String(value));
  if (typeof value === 'string') return maskFreeText(value, options);
  return value;
}

/**
 * An object key is a string like any other: an e-mail or phone in it is masked. Two keys that mask alike in one
 * object (`ana@x.io`, `alex@x.io`) both stay: the second gets its id digest (maskId) rather than overwrite the first.
 */
function maskKey(key: string, siblings: Record<string, unknown>): string {
  const masked = maskPhonesInText(maskEmailsInText(key));
  if (masked === key) return key;
  return Object.prototype.hasOwnProperty.call(siblings, masked) ? maskId(key) : masked;
}

/** The parts of an event that can hold PII by key; masked whole. */
export const PII_FIELDS = ['payload', 'raw_payload', 'lead_snapshot', 'appended', 'identity'] as const;
/** The event's ids: masked as ids (maskId), so they stay distinct and findable by the masked form of the real id. */
export const ID_FIELDS = ['lead_id', 'flow_id', 'step_id', 'entity_id', 'object_id', 'object_id_ref', 'external_event_id'] as const;

/**
 * A masked copy of an event: the PII fields key by key, the ids as ids, and every other field, whatever it is
 * (`reason`, fields added later), as free text or, when it is an object, key by key. Nothing at the top level
 * passes unexamined.
 */
export function maskEvent<T extends object>(event: T, options: MaskOptions = {}): T {
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(event)) {
    if ((PII_FIELDS as readonly string[]).includes(field)) out[field] = value === undefined ? value : maskPii(value, options);
    else if ((ID_FIELDS as readonly string[]).includes(field) && typeof value === 'string') out[field] = maskId(value);
    else if (typeof value === 'string') out[field] = maskFreeText(value, options);
    else out[field] = maskPii(value, options);
  }
  return out as T;
}
