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
  for (const [key, expected] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!Array.isArray(expected) || !expected.some((alternative) => isObject(alternative) && matchesPattern(event, alternative))) return false;
      continue;
    }
    const value = isObject(event) && Object.prototype.hasOwnProperty.call(event, key) ? event[key] : MISSING;
    if (Array.isArray(expected)) {
      if (!matchesLeaf(value, expected)) return false;
    } else if (isObject(expected)) {
      // Nested pattern: the event must have an object there (or an array of objects, any of which matches).
      const candidates = Array.isArray(value) ? value : [value];
      if (!candidates.some((candidate) => isObject(candidate) && matchesPattern(candidate, expected))) return false;
    } else {
      throw new TypeError(`event pattern: the value of '${key}' must be an array or an object`);
    }
  }
  return true;
}

function matchesLeaf(value: unknown, alternatives: unknown[]): boolean {
  // exists is about the field as a whole, arrays included.
  for (const alternative of alternatives) {
    if (isObject(alternative) && 'exists' in alternative) {
      const exists = value !== MISSING && !(Array.isArray(value) && value.length === 0);
      if (alternative.exists === exists) return true;
    }
  }
  if (value === MISSING) return false;
  const values = Array.isArray(value) ? value : [value];
  return alternatives.some((alternative) => !(isObject(alternative) && 'exists' in alternative) && values.some((v) => matchesOne(v, alternative)));
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
    if ('prefix' in operand) return typeof operand.prefix === 'string' && !value.startsWith(operand.prefix);
    if ('suffix' in operand) return typeof operand.suffix === 'string' && !value.endsWith(operand.suffix);
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

function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    n = n * 256 + Number(part);
  }
  return n;
}

function cidrMatch(ip: string, cidr: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText ?? 32);
  const a = ipv4ToInt(ip);
  const b = ipv4ToInt(base ?? '');
  if (a === undefined || b === undefined || !(bits >= 0 && bits <= 32)) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return ((a & mask) >>> 0) === ((b & mask) >>> 0);
}
