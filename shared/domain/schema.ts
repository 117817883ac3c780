import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { FieldError } from './errors.js';

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
