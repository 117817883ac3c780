/**
 * Lossless JSON: no digit of a number is changed between the bytes received and anything leadlog writes
 * (item, API answer, bus, archive). JSON.parse's source-text access (Node.js ≥ 21, V8's "JSON.parse source
 * text access") hands the reviver each number's text; a number a double cannot hold exactly (an 18-digit
 * Shopify id, 1e999) stays its text as a raw-JSON value, which JSON.stringify writes back verbatim. Numbers a
 * double holds exactly (49.90, 42) stay plain numbers, so validation and arithmetic see numbers as before.
 */
declare global {
  interface JSON {
    rawJSON(text: string): RawNumber;
    isRawJSON(value: unknown): value is RawNumber;
  }
}

/** A number kept as its source text (frozen, null prototype; JSON.stringify emits `rawJSON` as is). */
export interface RawNumber {
  readonly rawJSON: string;
}

export const isRawNumber = (value: unknown): value is RawNumber => JSON.isRawJSON(value);

/** Nesting deeper than this is refused (400) before parsing: every walker after it then stays within the stack. */
export const MAX_JSON_DEPTH = 256;

export class JsonDepthError extends Error {
  override name = 'JsonDepthError';
}

/** A decimal written as digits and exponent, without leading or trailing zeros: equal values, equal text. */
export function canonicalDecimal(text: string): string {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return text;
  const [, sign, whole, fraction = '', exponent = '0'] = match;
  const digits = `${whole}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  const significant = digits.replace(/0+$/, '');
  return `${sign}${significant}e${Number(exponent) - fraction.length + (digits.length - significant.length)}`;
}

/** Only text with 16+ digits in a row or a 3-digit exponent can hold a number a double changes. */
const MAYBE_LOSSY = /\d{16}|[eE][+-]?\d{3}/;

const keepDigits = (_key: string, value: unknown, context?: { source?: string }) =>
  typeof value === 'number' && context?.source !== undefined && canonicalDecimal(context.source) !== canonicalDecimal(String(value))
    ? JSON.rawJSON(context.source)
    : value;

/** Whether the text has more than `limit` opening brackets at all (native indexOf: cheap when it has few). */
function moreOpeningsThan(text: string, limit: number): boolean {
  let count = 0;
  for (const bracket of ['{', '[']) {
    for (let at = text.indexOf(bracket); at >= 0; at = text.indexOf(bracket, at + 1)) if (++count > limit) return true;
  }
  return false;
}

/** Throws JsonDepthError past MAX_JSON_DEPTH; a linear scan that skips strings, run only when the depth is possible. */
export function checkJsonDepth(text: string, maxDepth = MAX_JSON_DEPTH): void {
  if (!moreOpeningsThan(text, maxDepth)) return;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 /* { */ || c === 91 /* [ */) {
      if (++depth > maxDepth) throw new JsonDepthError(`JSON nested deeper than ${maxDepth} levels`);
    } else if (c === 125 /* } */ || c === 93 /* ] */) depth--;
  }
}

/** JSON.parse that keeps every number's digits (see above). Throws SyntaxError or JsonDepthError. */
export function parseJsonLossless(text: string): unknown {
  checkJsonDepth(text);
  return MAYBE_LOSSY.test(text) ? JSON.parse(text, keepDigits as never) : JSON.parse(text);
}

/** The text of a number as received, for ids copied into leadlog's own (string) fields. */
export function numberText(value: unknown): string | undefined {
  if (isRawNumber(value)) return value.rawJSON;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/**
 * A copy of a JSON value with every string and key made well-formed (a lone surrogate becomes U+FFFD): what leadlog
 * derives from a provider's delivery, whose raw bytes are kept as delivered. Depth is bounded by the JSON parser.
 */
export function wellFormedDeep(value: unknown): unknown {
  if (typeof value === 'string') return value.isWellFormed() ? value : value.toWellFormed();
  if (Array.isArray(value)) return value.map(wellFormedDeep);
  if (value === null || typeof value !== 'object' || isRawNumber(value)) return value;
  const out: Record<string, unknown> = {};
  // defineProperty, not assignment: a key named __proto__ (JSON.parse makes it an own property) stays a field.
  for (const [key, child] of Object.entries(value)) {
    Object.defineProperty(out, key.isWellFormed() ? key : key.toWellFormed(), { value: wellFormedDeep(child), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** A JSON escape of a surrogate (`\ud800`): only text holding one can parse to a string that is not well-formed. */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

/**
 * Lossless JSON whose strings and keys are well-formed: what leadlog derives from bytes it keeps as delivered (a
 * webhook's body, read back as its raw_payload). The copy is made only when the text escapes a surrogate.
 */
export function parseJsonWellFormed(text: string): unknown {
  const value = parseJsonLossless(text);
  return mayHoldLoneSurrogate(text) ? wellFormedDeep(value) : value;
}

/**
 * Whether JSON text can parse to a string that is not well-formed: only through a surrogate's escape (`\ud800`;
 * valid UTF-8 cannot carry a lone surrogate). A scan of the text, far cheaper than walking the parsed value.
 */
export function mayHoldLoneSurrogate(text: string): boolean {
  return SURROGATE_ESCAPE.test(text);
}

/**
 * JSON text that every strict reader takes: JSON.stringify writes a lone surrogate as the escape `\ud800`, which
 * DuckDB's and other strict JSON parsers refuse; such a value is written with U+FFFD in its place instead.
 */
export function stringifyWellFormed(value: unknown): string {
  const text = JSON.stringify(value);
  return SURROGATE_ESCAPE.test(text) ? JSON.stringify(wellFormedDeep(value)) : text;
}
