/**
 * EventBridge event-pattern matching, for the local bus (the same patterns CDK deploys as rules).
 * Semantics per AWS's "Amazon EventBridge event patterns" and "Content filtering in Amazon EventBridge event
 * patterns" pages, and where they are silent, aws/event-ruler (the library EventBridge's matching is built on):
 *  - every key of the pattern must match (AND); a leaf is an array of alternatives (OR);
 *  - an event value that is an array matches when any of its elements matches;
 *  - operators: exact (string, number, boolean, null), prefix, suffix (each may wrap equals-ignore-case),
 *    anything-but (value, list, prefix, suffix, equals-ignore-case, wildcard), numeric ranges, exists,
 *    equals-ignore-case, wildcard, cidr (IPv4 and IPv6); `$or` takes a list of sub-patterns.
 * Invariant: matching costs time linear in the event's size for a pattern of bounded size (patterns are capped
 * at MAX_EVENT_PATTERN_CHARACTERS): no regular expression ever runs over an event value; wildcards use a greedy
 * segment scan (below), IP literals are parsed only up to their longest possible text.
 */
import type { EventPattern } from '../definitions/event-rules.js';
import { canonicalDecimal, isRawNumber, type RawNumber } from './json.js';

type Json = unknown;
const MISSING = Symbol('missing');

/** A JSON object (a lossless-JSON raw number is a leaf value, not an object). */
function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !isRawNumber(value);
}

export function matchesPattern(event: Json, pattern: EventPattern): boolean {
  return matchesObject(event, pattern);
}

/**
 * One level of a pattern against the value at that level, which may be MISSING (a parent absent from the event):
 * then only `exists: false` leaves can match, as in EventBridge.
 */
function matchesObject(event: Json | typeof MISSING, pattern: Record<string, unknown>): boolean {
  for (const [key, expected] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(expected) || !expected.some((alternative) => isObject(alternative) && matchesObject(event, alternative))) return false;
      continue;
    }
    const value = isObject(event) && Object.prototype.hasOwnProperty.call(event, key) ? event[key] : MISSING;
    if (Array.isArray(expected)) {
      if (!matchesLeaf(value, expected)) return false;
    } else if (isObject(expected)) {
      // Nested pattern: an object there (or an array of objects, any of which matches); a missing or non-object
      // value is as if every field below it were missing.
      const candidates = Array.isArray(value) ? flatten(value).filter(isObject) : [isObject(value) ? value : MISSING];
      if (candidates.length === 0) candidates.push(MISSING as never);
      if (!candidates.some((candidate) => matchesObject(candidate, expected))) return false;
    } else {
      throw new TypeError(`event pattern: the value of '${key}' must be an array or an object`);
    }
  }
  return true;
}

/** Arrays in events are flattened, however deep: [[1, 2], [3]] offers 1, 2 and 3. */
function flatten(values: unknown[]): unknown[] {
  return values.flatMap((v) => (Array.isArray(v) ? flatten(v) : [v]));
}

function matchesLeaf(value: unknown, alternatives: unknown[]): boolean {
  // exists looks at leaf values only: an object (or an array holding no leaf value) does not exist as a leaf.
  const leaves = value === MISSING ? [] : (Array.isArray(value) ? flatten(value) : [value]).filter((v) => !isObject(v));
  for (const alternative of alternatives) {
    if (isObject(alternative) && 'exists' in alternative && alternative.exists === leaves.length > 0) return true;
  }
  return alternatives.some((alternative) => !(isObject(alternative) && 'exists' in alternative) && leaves.some((v) => matchesOne(v, alternative)));
}

function matchesOne(value: unknown, matcher: unknown): boolean {
  if (!isObject(matcher)) return exactEquals(value, matcher);
  const [operator, operand] = Object.entries(matcher)[0] ?? [];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && stringTest(value, operand, 'prefix');
    case 'suffix':
      return typeof value === 'string' && stringTest(value, operand, 'suffix');
    case 'equals-ignore-case':
      return typeof value === 'string' && typeof operand === 'string' && equalsIgnoreCase(value, operand);
    case 'wildcard':
      return typeof value === 'string' && typeof operand === 'string' && wildcardMatches(value, operand);
    case 'numeric':
      return typeof value === 'number' && Array.isArray(operand) && numericMatch(value, operand);
    case 'cidr':
      return typeof value === 'string' && typeof operand === 'string' && cidrMatch(value, operand);
    case 'anything-but':
      return anythingBut(value, operand);
    default:
      throw new TypeError(`event pattern: unsupported operator '${String(operator)}'`);
  }
}

/**
 * Exact match, as event-ruler compares: numbers by value (5 matches 5.0; a number a double cannot hold, kept as
 * its text by lossless JSON, by its digits); a string that is an IP address literal matches the same address
 * written another way ("2001:db8::1" and "2001:0db8:0:0:0:0:0:1"), as event-ruler turns both into one range.
 */
function exactEquals(value: unknown, expected: unknown): boolean {
  if (isRawNumber(value) || isRawNumber(expected)) {
    return isRawNumber(value) && isRawNumber(expected) && canonicalDecimal((value as RawNumber).rawJSON) === canonicalDecimal((expected as RawNumber).rawJSON);
  }
  if (value === expected) return true;
  if (typeof value !== 'string' || typeof expected !== 'string') return false;
  const [a, b] = [parseIp(expected), parseIp(value)];
  return a !== undefined && b !== undefined && a.bits === b.bits && a.value === b.value;
}

/**
 * Case-insensitive comparisons that never lower-case a whole large value (a 1 MB lead id would cost a 1 MB copy
 * per rule): lower-casing never shortens a string (it keeps or lengthens each character), so a value longer than
 * the lower-cased operand cannot equal it, and a prefix or suffix is decided on a window of the value as long as
 * the operand plus a margin for the characters whose lower case depends on their neighbours (final sigma).
 */
const CASE_CONTEXT = 16;

function equalsIgnoreCase(value: string, operand: string): boolean {
  const lower = operand.toLowerCase();
  return value.length <= lower.length && value.toLowerCase() === lower;
}

/** prefix/suffix take a string, or {equals-ignore-case: string}; `side` says which end of the value counts. */
function stringTest(value: string, operand: unknown, side: 'prefix' | 'suffix'): boolean {
  if (typeof operand === 'string') return side === 'prefix' ? value.startsWith(operand) : value.endsWith(operand);
  if (!isObject(operand) || typeof operand['equals-ignore-case'] !== 'string') return false;
  const lower = (operand['equals-ignore-case'] as string).toLowerCase();
  const window = lower.length + CASE_CONTEXT;
  // The window's lower case starts (prefix) or ends (suffix) the whole value's lower case.
  if (side === 'prefix') return (value.length <= window ? value : value.slice(0, window)).toLowerCase().startsWith(lower);
  return (value.length <= window ? value : value.slice(-window)).toLowerCase().endsWith(lower);
}

function anythingBut(value: unknown, operand: unknown): boolean {
  if (Array.isArray(operand)) return !operand.some((excluded) => exactEquals(value, excluded));
  if (isObject(operand)) {
    if (typeof value !== 'string') return false;
    const list = (operand: unknown) => (Array.isArray(operand) ? operand : [operand]).filter((v): v is string => typeof v === 'string');
    if ('prefix' in operand) return !list(operand.prefix).some((prefix) => value.startsWith(prefix));
    if ('suffix' in operand) return !list(operand.suffix).some((suffix) => value.endsWith(suffix));
    if ('equals-ignore-case' in operand) return !list(operand['equals-ignore-case']).some((e) => equalsIgnoreCase(value, e));
    if ('wildcard' in operand) return !list(operand.wildcard).some((w) => wildcardMatches(value, w));
    throw new TypeError('event pattern: unsupported anything-but operand');
  }
  return !exactEquals(value, operand);
}

// ── Wildcards: event-ruler's syntax, matched by a greedy scan (no RegExp, no exponential backtracking) ──────────

/**
 * A wildcard pattern parsed as event-ruler's WildcardParser parses it: `*` matches any run of characters (none
 * included), `\*` is a literal star, `\\` a literal backslash; any other backslash (a trailing one included) and
 * two stars in a row are refused. The result is the literal segments between the stars (n stars, n + 1 segments).
 */
export function parseWildcard(pattern: string): { segments: string[] } | { error: string } {
  const segments: string[] = [];
  let current = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') {
      if (pattern[i + 1] === '*') return { error: `consecutive wildcard characters at position ${i}` };
      segments.push(current);
      current = '';
    } else if (c === '\\') {
      const next = pattern[i + 1];
      if (next !== '*' && next !== '\\') return { error: `invalid escape character at position ${i} (only \\* and \\\\ are escapes)` };
      current += next;
      i++;
    } else {
      current += c;
    }
  }
  segments.push(current);
  return { segments };
}

const parsedWildcards = new Map<string, string[] | undefined>();

function wildcardSegments(pattern: string): string[] | undefined {
  if (!parsedWildcards.has(pattern)) {
    if (parsedWildcards.size >= 1024) parsedWildcards.clear(); // patterns are few; the cache just stays bounded
    const parsed = parseWildcard(pattern);
    parsedWildcards.set(pattern, 'segments' in parsed ? parsed.segments : undefined);
  }
  return parsedWildcards.get(pattern);
}

/**
 * Whether `value` matches a wildcard pattern. The first segment must start the value and the last end it; each
 * middle segment is taken at its leftmost place after the previous one (`indexOf`). Leftmost is always safe: any
 * later place leaves less room for the rest. This is the two-pointer "greedy, back up to the last star" matcher
 * (as event-ruler and most glob matchers do it) with each segment's search done by the engine's string search:
 * one pass over the value per segment at worst, O(n·m), never exponential. A pattern that does not parse (never
 * the case for a validated one) matches nothing.
 */
export function wildcardMatches(value: string, pattern: string): boolean {
  const segments = wildcardSegments(pattern);
  if (!segments) return false;
  const first = segments[0]!;
  if (segments.length === 1) return value === first;
  const last = segments[segments.length - 1]!;
  const end = value.length - last.length;
  if (end < first.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const segment = segments[i]!;
    const found = value.indexOf(segment, at);
    if (found < 0 || found + segment.length > end) return false;
    at = found + segment.length;
  }
  return true;
}

function numericMatch(value: number, conditions: unknown[]): boolean {
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const op = conditions[i];
    const bound = conditions[i + 1];
    if (typeof bound !== 'number') return false;
    const ok =
      op === '=' ? value === bound
        : op === '<' ? value < bound
          : op === '<=' ? value <= bound
            : op === '>' ? value > bound
              : op === '>=' ? value >= bound
                : false;
    if (!ok) return false;
  }
  return conditions.length >= 2;
}

// ── IP addresses, as event-ruler reads them ────────────────────────────────────────────────────────────────

/** The longest IPv6 text event-ruler reads (8 groups of 4 hex digits and 7 colons); an IPv4 text is shorter. */
const MAX_IP_TEXT = 39;
const DIGITS = /^[0-9]+$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/**
 * An IP address as a big integer and its width in bits (32 or 128), or undefined. Only what event-ruler takes for
 * an IP literal: four dot-separated decimal numbers up to 255, or hex groups and colons (its IPv6 form has no
 * dotted tail, so `::ffff:10.0.0.1` is a plain string to it). The length check comes first: a value of any size
 * costs constant time here.
 */
function parseIp(ip: string): { value: bigint; bits: 32 | 128 } | undefined {
  if (ip.length > MAX_IP_TEXT || ip.length < 2) return undefined;
  if (ip.includes(':')) return parseIpv6(ip);
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((part) => !DIGITS.test(part) || Number(part) > 255)) return undefined;
  return { value: parts.reduce((n, part) => n * 256n + BigInt(Number(part)), 0n), bits: 32 };
}

function parseIpv6(ip: string): { value: bigint; bits: 128 } | undefined {
  const halves = ip.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !HEX_GROUP.test(g))) return undefined;
  const known = head.length + rest.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const words = [...head.map((g) => parseInt(g, 16)), ...Array(8 - known).fill(0), ...rest.map((g) => parseInt(g, 16))];
  return { value: words.reduce((n, w) => (n << 16n) + BigInt(w), 0n), bits: 128 };
}

/** A CIDR as event-ruler's CIDR.cidr reads it (one `/`, mask 0..31 or 0..127), or the reason it refuses it. */
function parseCidr(cidr: string): { network: { value: bigint; bits: 32 | 128 }; mask: number } | { error: string } {
  const slashed = cidr.split('/');
  if (slashed.length !== 2) return { error: `malformed CIDR ${JSON.stringify(cidr.slice(0, 60))}: one '/' required` };
  const [base, maskText] = slashed as [string, string];
  // Java's Integer.parseInt, as event-ruler reads the mask: an optional sign, then digits.
  if (!/^[+-]?\d{1,10}$/.test(maskText)) return { error: `malformed CIDR ${JSON.stringify(cidr.slice(0, 60))}: mask bits must be an integer` };
  const mask = Number(maskText);
  if (mask < 0) return { error: `malformed CIDR ${JSON.stringify(cidr.slice(0, 60))}: mask bits must not be negative` };
  const network = parseIp(base);
  if (!network) return { error: `invalid IP address in CIDR ${JSON.stringify(cidr.slice(0, 60))}` };
  if (mask > network.bits - 1) return { error: `${network.bits === 32 ? 'IPv4' : 'IPv6'} mask bits must be < ${network.bits} in CIDR ${JSON.stringify(cidr.slice(0, 60))}` };
  return { network, mask };
}

function cidrMatch(ip: string, cidr: string): boolean {
  const parsed = parseCidr(cidr);
  const address = parseIp(ip);
  if ('error' in parsed || !address || address.bits !== parsed.network.bits) return false;
  const shift = BigInt(parsed.network.bits - parsed.mask);
  return address.value >> shift === parsed.network.value >> shift;
}

// ── Validation: what EventBridge refuses (aws/event-ruler's JsonRuleCompiler), with its reason ─────────────

/**
 * EventBridge's "Event pattern size" quota: 2,048 characters by default ("Amazon EventBridge quotas",
 * docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html; adjustable on request, and PutRule's EventPattern
 * takes at most 4,096). Counted on the pattern as JSON without whitespace, which is what CDK deploys.
 */
export const MAX_EVENT_PATTERN_CHARACTERS = 2048;

/**
 * EventBridge's documented numeric range ("Content filtering in Amazon EventBridge event patterns": numeric
 * matching "is limited to values between -1.0e9 and +1.0e9 inclusive"). event-ruler itself takes any double.
 */
const NUMERIC_LIMIT = 1e9;

const MATCH_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'numeric', 'cidr', 'anything-but', 'exists'] as const;

/** Field names event-ruler reserves inside `$or` (its Constants.RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP). */
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric', 'cidr',
  '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case', 'date-after', 'date-on-or-after',
  'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range', 'ip-address-not-in-range',
]);

/**
 * Every reason EventBridge would refuse this pattern (empty when it is valid), each naming where: a pattern over
 * MAX_EVENT_PATTERN_CHARACTERS; empty arrays or objects; values that are not strings, numbers, booleans or null;
 * a match object with no or several keys; an unknown operator; numeric expressions out of order, with bottom ≥ top
 * or bounds outside ±1e9 or not held exactly by a double; `$or` with fewer than two branches or a reserved field name
 * inside; malformed CIDRs (one `/` and a mask below 32 or 128 required); `exists` other than true/false; wildcards
 * with consecutive `*` or a `\` escaping anything but `*` or `\`; empty anything-but prefixes and suffixes;
 * anything-but numbers a double cannot hold.
 */
export function validatePattern(pattern: unknown): string[] {
  if (!isObject(pattern)) return ['pattern: must be an object'];
  const size = JSON.stringify(pattern).length;
  if (size > MAX_EVENT_PATTERN_CHARACTERS) {
    return [`pattern: ${size} characters, over EventBridge's event pattern size limit of ${MAX_EVENT_PATTERN_CHARACTERS}`];
  }
  return validateObject(pattern, '', false);
}

function validateObject(pattern: Record<string, unknown>, path: string, insideOr: boolean): string[] {
  if (Object.keys(pattern).length === 0) return [`${path || 'pattern'}: empty objects are not allowed`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.some((branch) => !isObject(branch))) problems.push(`${at}: must be an array of objects`);
      else if (value.length < 2) problems.push(`${at}: there must be at least 2 objects in $or`);
      else value.forEach((branch, i) => problems.push(...validateObject(branch as Record<string, unknown>, `${at}[${i}]`, true)));
      continue;
    }
    if (insideOr && RESERVED_IN_OR.has(key)) problems.push(`${at}: '${key}' is a reserved name and cannot be a field inside $or`);
    if (Array.isArray(value)) {
      if (value.length === 0) problems.push(`${at}: empty arrays are not allowed`);
      value.forEach((matcher, i) => problems.push(...validateMatcher(matcher, `${at}[${i}]`)));
    } else if (isObject(value)) {
      problems.push(...validateObject(value, at, insideOr));
    } else {
      problems.push(`${at}: must be an object or an array`);
    }
  }
  return problems;
}

function validateMatcher(matcher: unknown, at: string): string[] {
  if (matcher === null || isRawNumber(matcher) || ['string', 'number', 'boolean'].includes(typeof matcher)) return [];
  if (!isObject(matcher)) return [`${at}: match value must be a string, number, true, false, null or a match object`];
  const keys = Object.keys(matcher);
  if (keys.length !== 1) return [`${at}: ${keys.length === 0 ? 'match expression name not found' : 'only one key allowed in match expression'}`];
  const [operator, operand] = [keys[0]!, matcher[keys[0]!]];
  if (!(MATCH_OPERATORS as readonly string[]).includes(operator)) return [`${at}: unrecognized match type ${operator}`];
  switch (operator) {
    case 'prefix':
    case 'suffix':
      return typeof operand === 'string' || (isObject(operand) && Object.keys(operand).length === 1 && typeof operand['equals-ignore-case'] === 'string')
        ? [] : [`${at}: ${operator} match pattern must be a string (or {"equals-ignore-case": string})`];
    case 'equals-ignore-case':
      return typeof operand === 'string' ? [] : [`${at}: equals-ignore-case match pattern must be a string`];
    case 'wildcard':
      return validateWildcard(operand, at);
    case 'exists':
      return typeof operand === 'boolean' ? [] : [`${at}: exists match pattern must be either true or false`];
    case 'cidr': {
      if (typeof operand !== 'string') return [`${at}: cidr must be a string`];
      const parsed = parseCidr(operand);
      return 'error' in parsed ? [`${at}: ${parsed.error}`] : [];
    }
    case 'numeric':
      return validateNumeric(operand, at);
    default:
      return validateAnythingBut(operand, at);
  }
}

function validateWildcard(operand: unknown, at: string): string[] {
  if (typeof operand !== 'string') return [`${at}: wildcard match pattern must be a string`];
  const parsed = parseWildcard(operand);
  return 'error' in parsed ? [`${at}: wildcard: ${parsed.error}`] : [];
}

/** A numeric bound EventBridge takes: a number a double holds exactly (not a raw number), within ±1e9. */
function numericBoundProblem(bound: unknown, op: string): string | undefined {
  if (isRawNumber(bound)) return `cannot compare number ${bound.rawJSON.slice(0, 40)} (a double does not hold it exactly)`;
  if (typeof bound !== 'number' || !Number.isFinite(bound)) return `value of ${op} must be numeric`;
  if (Math.abs(bound) > NUMERIC_LIMIT) return `value of ${op} is outside EventBridge's numeric range (-1e9 to 1e9)`;
  return undefined;
}

function validateNumeric(operand: unknown, at: string): string[] {
  if (!Array.isArray(operand)) return [`${at}: value of numeric must be an array`];
  const [op, bound, op2, top, ...extra] = operand;
  if (typeof op !== 'string') return [`${at}: invalid member in numeric match`];
  if (!['=', '<', '<=', '>', '>='].includes(op)) return [`${at}: unrecognized numeric range operator ${op}`];
  const bottomProblem = numericBoundProblem(bound, op);
  if (bottomProblem) return [`${at}: ${bottomProblem}`];
  if (operand.length === 2) return [];
  if (op === '=' || op === '<' || op === '<=') return [`${at}: too many elements in numeric expression (a lower bound, > or >=, comes first)`];
  if (op2 !== '<' && op2 !== '<=') return [`${at}: bad numeric range operator ${String(op2)}`];
  const topProblem = numericBoundProblem(top, op2);
  if (topProblem) return [`${at}: ${topProblem}`];
  if (extra.length > 0) return [`${at}: too many terms in numeric range expression`];
  return (bound as number) < (top as number) ? [] : [`${at}: bottom must be less than top`];
}

function validateAnythingBut(operand: unknown, at: string): string[] {
  if (isObject(operand)) {
    const keys = Object.keys(operand);
    const [inner] = keys;
    if (keys.length !== 1 || !['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(inner!)) return [`${at}: unsupported anything-but pattern: ${keys.join(', ')}`];
    // An empty list here is taken (event-ruler builds an empty set, which excludes nothing).
    const values = Array.isArray(operand[inner!]) ? (operand[inner!] as unknown[]) : [operand[inner!]];
    if (!values.every((v) => typeof v === 'string')) return [`${at}: inside anything-but/${inner}, every value must be a string`];
    if ((inner === 'prefix' || inner === 'suffix') && values.includes('')) return [`${at}: an empty anything-but ${inner} is not allowed`];
    if (inner === 'wildcard') return values.flatMap((v) => validateWildcard(v, at));
    return [];
  }
  const unheld = (v: unknown) => isRawNumber(v) || (typeof v === 'number' && !Number.isFinite(v));
  if (Array.isArray(operand)) {
    if (operand.length === 0) return [`${at}: empty arrays are not allowed`];
    if (operand.some(unheld)) return [`${at}: inside anything-but, cannot compare a number a double does not hold exactly`];
    const strings = operand.every((v) => typeof v === 'string');
    const numbers = operand.every((v) => typeof v === 'number');
    return strings || numbers ? [] : [`${at}: inside an anything-but list, either all values are numbers or all are strings (no null or booleans)`];
  }
  if (unheld(operand)) return [`${at}: inside anything-but, cannot compare a number a double does not hold exactly`];
  return typeof operand === 'string' || typeof operand === 'number' ? [] : [`${at}: value of anything-but must be an array or a single string or number`];
}
