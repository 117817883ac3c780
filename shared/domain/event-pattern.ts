/**
 * EventBridge event-pattern matching, for the local bus (the same patterns CDK deploys as rules).
 * Semantics per AWS's "Amazon EventBridge event patterns" and "Comparison operators" pages:
 *  - every key of the pattern must match (AND); a leaf is an array of alternatives (OR);
 *  - an event value that is an array matches when any of its elements matches;
 *  - operators: exact (string, number, boolean, null), prefix, suffix (each may wrap equals-ignore-case),
 *    anything-but (value, list, prefix, suffix, equals-ignore-case, wildcard), numeric ranges, exists,
 *    equals-ignore-case, wildcard, cidr (IPv4); `$or` takes a list of sub-patterns.
 */
import type { EventPattern } from '../definitions/event-rules.js';

type Json = unknown;
const MISSING = Symbol('missing');

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
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
      return typeof value === 'string' && stringTest(value, operand, (v, p) => v.startsWith(p));
    case 'suffix':
      return typeof value === 'string' && stringTest(value, operand, (v, s) => v.endsWith(s));
    case 'equals-ignore-case':
      return typeof value === 'string' && typeof operand === 'string' && value.toLowerCase() === operand.toLowerCase();
    case 'wildcard':
      return typeof value === 'string' && typeof operand === 'string' && wildcardRegExp(operand).test(value);
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

function exactEquals(value: unknown, expected: unknown): boolean {
  if (typeof value === 'number' && typeof expected === 'number') return value === expected;
  return value === expected;
}

/** prefix/suffix take a string, or {equals-ignore-case: string}. */
function stringTest(value: string, operand: unknown, test: (value: string, operand: string) => boolean): boolean {
  if (typeof operand === 'string') return test(value, operand);
  if (isObject(operand) && typeof operand['equals-ignore-case'] === 'string') return test(value.toLowerCase(), (operand['equals-ignore-case'] as string).toLowerCase());
  return false;
}

function anythingBut(value: unknown, operand: unknown): boolean {
  if (Array.isArray(operand)) return !operand.some((excluded) => exactEquals(value, excluded));
  if (isObject(operand)) {
    if (typeof value !== 'string') return false;
    const list = (operand: unknown) => (Array.isArray(operand) ? operand : [operand]).filter((v): v is string => typeof v === 'string');
    if ('prefix' in operand) return !list(operand.prefix).some((prefix) => value.startsWith(prefix));
    if ('suffix' in operand) return !list(operand.suffix).some((suffix) => value.endsWith(suffix));
    if ('equals-ignore-case' in operand) {
      const excluded = Array.isArray(operand['equals-ignore-case']) ? operand['equals-ignore-case'] : [operand['equals-ignore-case']];
      return !excluded.some((e) => typeof e === 'string' && e.toLowerCase() === value.toLowerCase());
    }
    if ('wildcard' in operand) {
      const excluded = Array.isArray(operand.wildcard) ? operand.wildcard : [operand.wildcard];
      return !excluded.some((w) => typeof w === 'string' && wildcardRegExp(w).test(value));
    }
    throw new TypeError('event pattern: unsupported anything-but operand');
  }
  return !exactEquals(value, operand);
}

function wildcardRegExp(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${escaped}$`, 's');
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

/** An IP address as a big integer and its width in bits (32 or 128), or undefined. */
function parseIp(ip: string): { value: bigint; bits: 32 | 128 } | undefined {
  if (ip.includes(':')) return parseIpv6(ip);
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) return undefined;
  return { value: parts.reduce((n, part) => n * 256n + BigInt(part), 0n), bits: 32 };
}

function parseIpv6(ip: string): { value: bigint; bits: 128 } | undefined {
  let text = ip;
  const tail: number[] = [];
  const v4 = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text); // ::ffff:10.0.0.1
  if (v4) {
    const parsed = parseIp(v4[2]!);
    if (!parsed) return undefined;
    tail.push(Number(parsed.value >> 16n), Number(parsed.value & 0xffffn));
    text = v4[1]!.endsWith('::') ? v4[1]! : v4[1]!.slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string) => (half === '' ? [] : half.split(':'));
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if ([...head, ...rest].some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return undefined;
  const known = head.length + rest.length + tail.length;
  if (halves.length === 1 ? known !== 8 : known > 7) return undefined;
  const words = [...head.map((g) => parseInt(g, 16)), ...Array(8 - known).fill(0), ...rest.map((g) => parseInt(g, 16)), ...tail];
  return { value: words.reduce((n, w) => (n << 16n) + BigInt(w), 0n), bits: 128 };
}

function cidrMatch(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const address = parseIp(ip);
  const network = parseIp(base ?? '');
  if (!address || !network || address.bits !== network.bits) return false;
  const bits = bitsText === undefined ? network.bits : Number(bitsText);
  const shift = BigInt(network.bits - bits);
  return address.value >> shift === network.value >> shift;
}

// ── Validation: what EventBridge refuses (aws/event-ruler's JsonRuleCompiler), with its reason ─────────────

const MATCH_OPERATORS = ['prefix', 'suffix', 'equals-ignore-case', 'wildcard', 'numeric', 'cidr', 'anything-but', 'exists'] as const;

/**
 * Every reason EventBridge would refuse this pattern (empty when it is valid), each naming where: empty arrays or
 * objects, values that are not strings, numbers, booleans or null, a match object with no or several keys, an
 * unknown operator, numeric expressions out of order or with bottom ≥ top, `$or` with fewer than two branches,
 * CIDRs of /32 (IPv4) or /128 (IPv6) and malformed ones, `exists` other than true/false, consecutive `*`.
 */
export function validatePattern(pattern: unknown, path = ''): string[] {
  if (!isObject(pattern)) return [`${path || 'pattern'}: must be an object`];
  if (Object.keys(pattern).length === 0) return [`${path || 'pattern'}: empty objects are not allowed`];
  const problems: string[] = [];
  for (const [key, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.some((branch) => !isObject(branch))) problems.push(`${at}: must be an array of objects`);
      else if (value.length < 2) problems.push(`${at}: there must be at least 2 objects in $or`);
      else value.forEach((branch, i) => problems.push(...validatePattern(branch, `${at}[${i}]`)));
    } else if (Array.isArray(value)) {
      if (value.length === 0) problems.push(`${at}: empty arrays are not allowed`);
      value.forEach((matcher, i) => problems.push(...validateMatcher(matcher, `${at}[${i}]`)));
    } else if (isObject(value)) {
      problems.push(...validatePattern(value, at));
    } else {
      problems.push(`${at}: must be an object or an array`);
    }
  }
  return problems;
}

function validateMatcher(matcher: unknown, at: string): string[] {
  if (matcher === null || ['string', 'number', 'boolean'].includes(typeof matcher)) return [];
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
      return typeof operand !== 'string' ? [`${at}: wildcard match pattern must be a string`] : operand.includes('**') ? [`${at}: consecutive wildcard characters are not allowed`] : [];
    case 'exists':
      return typeof operand === 'boolean' ? [] : [`${at}: exists match pattern must be either true or false`];
    case 'cidr':
      return validateCidr(operand, at);
    case 'numeric':
      return validateNumeric(operand, at);
    default:
      return validateAnythingBut(operand, at);
  }
}

function validateCidr(operand: unknown, at: string): string[] {
  if (typeof operand !== 'string') return [`${at}: cidr must be a string`];
  const [base, bitsText, extra] = operand.split('/');
  const network = parseIp(base ?? '');
  if (!network || extra !== undefined) return [`${at}: invalid CIDR ${operand}`];
  if (bitsText === undefined) return [];
  const bits = /^\d+$/.test(bitsText) ? Number(bitsText) : -1;
  // EventBridge takes a single address without a mask; a full-length mask (/32, /128) is refused.
  return bits < 0 || bits > network.bits - 1 ? [`${at}: invalid CIDR mask /${bitsText} (0 to ${network.bits - 1})`] : [];
}

function validateNumeric(operand: unknown, at: string): string[] {
  if (!Array.isArray(operand)) return [`${at}: value of numeric must be an array`];
  const [op, bound, op2, top, ...extra] = operand;
  if (typeof op !== 'string') return [`${at}: invalid member in numeric match`];
  if (!['=', '<', '<=', '>', '>='].includes(op)) return [`${at}: unrecognized numeric range operator ${op}`];
  if (typeof bound !== 'number') return [`${at}: value of ${op} must be numeric`];
  if (operand.length === 2) return [];
  if (op === '=' || op === '<' || op === '<=') return [`${at}: too many elements in numeric expression (a lower bound, > or >=, comes first)`];
  if (op2 !== '<' && op2 !== '<=') return [`${at}: bad numeric range operator ${String(op2)}`];
  if (typeof top !== 'number') return [`${at}: value of ${op2} must be numeric`];
  if (extra.length > 0) return [`${at}: too many terms in numeric range expression`];
  return bound < top ? [] : [`${at}: bottom must be less than top`];
}

function validateAnythingBut(operand: unknown, at: string): string[] {
  if (isObject(operand)) {
    const keys = Object.keys(operand);
    const [inner] = keys;
    if (keys.length !== 1 || !['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(inner!)) return [`${at}: unsupported anything-but pattern: ${keys.join(', ')}`];
    const values = Array.isArray(operand[inner!]) ? (operand[inner!] as unknown[]) : [operand[inner!]];
    if (values.length === 0) return [`${at}: empty arrays are not allowed`];
    return values.every((v) => typeof v === 'string') ? [] : [`${at}: inside anything-but/${inner}, every value must be a string`];
  }
  if (Array.isArray(operand)) {
    if (operand.length === 0) return [`${at}: empty arrays are not allowed`];
    const strings = operand.every((v) => typeof v === 'string');
    const numbers = operand.every((v) => typeof v === 'number');
    return strings || numbers ? [] : [`${at}: inside an anything-but list, either all values are numbers or all are strings (no null or booleans)`];
  }
  return typeof operand === 'string' || typeof operand === 'number' ? [] : [`${at}: value of anything-but must be an array or a single string or number`];
}
