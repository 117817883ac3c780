import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import { ValidationError, type FieldError } from './errors.js';
import { parseIsoWithOffset } from './time.js';

/**
 * Zod's tree-shakable `zod/mini` build (~25 KB in a bundle instead of ~450 KB) with English messages,
 * and the one translation of its issues into the contract's `errors: [{path, message}]`. Modules import
 * `* as z from 'zod/mini'` themselves: re-exporting the namespace object would defeat tree-shaking.
 */
z.config(en());

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
    } else {
      errors.push({ path: formatPath(path), message: issue.message.replace(/^Invalid input: /, '') });
    }
  }
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
export const isoParam = param((value): number | { problem: string } => parseIsoWithOffset(value) ?? { problem: 'must be an ISO 8601 date-time with an offset, e.g. 2026-11-23T00:00:00Z' });

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
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(issuesToFieldErrors(parsed.error.issues, input, options.unknownKeyMessage ? { unknownKeyMessage: options.unknownKeyMessage } : {}));
  return parsed.data;
}
