import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ValidationError, type FieldError } from './errors.js';
import { DAY_MS, ISO_DATE_TIME_RULE, MAX_FUTURE_SKEW_MS, parseIsoWithOffset } from './time.js';
import { isRawNumber } from './json.js';

/**
 * Zod's tree-shakable `zod/mini` build (~25 KB in a bundle instead of ~450 KB) with English messages,
 * and the one translation of its issues into the contract's `errors: [{path, message}]`. Modules import
 * `* as z from 'zod/mini'` themselves: re-exporting the namespace object would defeat tree-shaking.
 */
z.config(en());

// ES2024's String methods (Node 20+); the project's lib is ES2023.
declare global {
  interface String {
    isWellFormed(): boolean;
    toWellFormed(): string;
  }
}

/**
 * The boundary rule (contract section 3, "Input that cannot hurt"), in one place. Every string of a request, keys
 * included, is well-formed Unicode (no lone UTF-16 surrogate): one would poison every store and encoder downstream
 * (Parquet, UUIDv5, DynamoDB keys). Ids hold no control character and at most MAX_ID_LENGTH characters.
 */
export const MAX_ID_LENGTH = 255;
const CONTROL = /\p{Cc}/u;

/** Whether any string or key in `value` is not well-formed; iterative, linear, no path kept. */
function holdsMalformedString(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current === 'string') {
      if (!current.isWellFormed()) return true;
    } else if (Array.isArray(current)) {
      for (const item of current) stack.push(item);
    } else if (current !== null && typeof current === 'object') {
      for (const key in current) {
        if (!Object.hasOwn(current, key)) continue;
        if (!key.isWellFormed()) return true;
        stack.push((current as Record<string, unknown>)[key]);
      }
    }
  }
  return false;
}

/** Paths (as formatPath writes them) of every string or key in `value` that is not well-formed; iterative, linear. */
export function malformedStringPaths(value: unknown, prefix: readonly PropertyKey[] = []): string[] {
  if (!holdsMalformedString(value)) return []; // the common case: one allocation-free pass, paths only when needed
  const found: string[] = [];
  const stack: { value: unknown; path: PropertyKey[] }[] = [{ value, path: [...prefix] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (typeof current === 'string') {
      if (!current.isWellFormed()) found.push(formatPath(path));
    } else if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: [...path, i] });
    } else if (current !== null && typeof current === 'object') {
      for (const [key, child] of Object.entries(current)) {
        if (!key.isWellFormed()) found.push(formatPath([...path, key.toWellFormed()]));
        stack.push({ value: child, path: [...path, key.isWellFormed() ? key : key.toWellFormed()] });
      }
    }
  }
  return found.sort();
}

export { wellFormedDeep } from './json.js';

/**
 * An id derived from a provider's delivery, made to obey the id rule without refusing the delivery: kept when it does,
 * else replaced by a stable digest of it (the same delivery maps to the same id, so idempotency holds).
 */
export function derivedId(value: string): string {
  return idProblem(value) === undefined ? value : `sha256:${createHash('sha256').update(value.toWellFormed(), 'utf8').digest('hex')}`;
}

export const MALFORMED_MESSAGE = 'must be well-formed Unicode (a lone UTF-16 surrogate is not a character)';

/** Throws one ValidationError naming every string or key of `value` that is not well-formed. */
export function assertWellFormed(value: unknown, prefix: readonly PropertyKey[] = []): void {
  const paths = malformedStringPaths(value, prefix);
  if (paths.length > 0) throw new ValidationError(paths.map((path) => ({ path, message: MALFORMED_MESSAGE })));
}

/** Why `value` is not an acceptable id (undefined: it is one): well-formed, no control character, 1 to 255 characters. */
export function idProblem(value: string, max = MAX_ID_LENGTH): string | undefined {
  if (!value.isWellFormed()) return MALFORMED_MESSAGE;
  if (value.length === 0) return 'must not be empty';
  if (value.length > max) return `must be at most ${max} characters`;
  if (CONTROL.test(value)) return 'must not contain control characters';
  return undefined;
}

/** An id as the API accepts it (lead_id, flow_id, step_id, entity_id, object_id, object_id_ref, external_event_id, identity values). */
export const idString = (max = MAX_ID_LENGTH) =>
  z.string().check(
    z.trim(),
    z.superRefine((value, ctx) => {
      const problem = value.trim() === '' ? 'must not be empty' : idProblem(value, max);
      if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
    }),
  );

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? String(segment) : `.${String(segment)}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = Object.prototype.hasOwnProperty.call(current, segment) ? (current as Record<PropertyKey, unknown>)[segment] : undefined;
  }
  return current;
}

/** Every issue as {path, message}; a missing value reads "is required", an unknown key "is not a known field". */
export function issuesToFieldErrors(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  options: { prefix?: readonly PropertyKey[]; unknownKeyMessage?: string } = {},
): FieldError[] {
  const prefix = options.prefix ?? [];
  const errors: FieldError[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) errors.push({ path: formatPath([...path, key]), message: options.unknownKeyMessage ?? 'is not a known field' });
    } else if (valueAt(input, issue.path) === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
      errors.push({ path: formatPath(path), message: 'is required' });
    } else if (issue.code === 'invalid_type' && issue.expected === 'number' && isRawNumber(valueAt(input, issue.path))) {
      // A number kept as its text (json.ts) is one no double holds: say so, not the wrapper's type.
      errors.push({ path: formatPath(path), message: 'is a number out of range: too large, or more digits than a 64-bit float holds' });
    } else {
      errors.push({ path: formatPath(path), message: issue.message.replace(/^Invalid input: /, '') });
    }
  }
  return errors;
}

/**
 * The longest time range a replay or an export may ask for. Events are hot for 90 days and archived without an end
 * (the archive bucket has no expiration), so the bound is a product limit, not the data's: a year and a day per request
 * (docs/decisions.md). A `to` may run at most MAX_FUTURE_SKEW_MS past the clock, as occurred_at may.
 */
export const MAX_RANGE_MS = 366 * DAY_MS;

/** Every problem of a [from, to) range, naming the field: order, length, and (with a clock) `to` in the future. */
export function rangeProblems(fromMs: number, toMs: number, nowMs: number | undefined, names: { from: string; to: string }): FieldError[] {
  if (fromMs >= toMs) return [{ path: names.from, message: `must be before ${names.to}` }];
  const errors: FieldError[] = [];
  if (nowMs !== undefined && toMs > nowMs + MAX_FUTURE_SKEW_MS) errors.push({ path: names.to, message: 'must not be more than 5 minutes in the future' });
  if (toMs - fromMs > MAX_RANGE_MS) errors.push({ path: names.from, message: `must be at most ${MAX_RANGE_MS / DAY_MS} days before ${names.to}` });
  return errors;
}

/** A query-string (or JSON string) value parsed by `parse`, which reports a problem by returning `{problem}`. */
export function param<T>(parse: (value: string) => T | { problem: string }) {
  return z.pipe(
    z.string(),
    z.transform((value: string, ctx) => {
      const result = parse(value);
      if (result !== null && typeof result === 'object' && 'problem' in result) {
        ctx.issues.push({ code: 'custom', message: result.problem, input: value });
        return z.NEVER;
      }
      return result as T;
    }),
  );
}

/** An ISO 8601 date-time with an offset, as epoch milliseconds. */
export const isoParam = param((value): number | { problem: string } => parseIsoWithOffset(value) ?? { problem: ISO_DATE_TIME_RULE });

/** A whole number from 1 to 1000 (a page size). */
export const limitParam = param((value): number | { problem: string } => {
  const n = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  return n >= 1 && n <= 1000 ? n : { problem: 'must be a whole number from 1 to 1000' };
});

/**
 * Parses `input` with `schema` or throws one ValidationError naming every bad field. Query parameters arrive as
 * strings, undefined values dropped; bodies as parsed JSON.
 */
export function parseOrThrow<T extends z.ZodMiniType>(schema: T, input: unknown, options: { unknownKeyMessage?: string; notObjectMessage?: string } = {}): z.infer<T> {
  if (options.notObjectMessage && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw new ValidationError([{ path: '', message: options.notObjectMessage }]);
  }
  assertWellFormed(input);
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesToFieldErrors(parsed.error.issues, input, options.unknownKeyMessage ? { unknownKeyMessage: options.unknownKeyMessage } : {}));
  return parsed.data;
}
