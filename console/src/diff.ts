import { RawNumber } from './json.js';

/**
 * What changed in a lead's snapshot from one step to the next: every leaf (dotted path, array indexes in
 * brackets) added, removed or changed. Objects are walked; arrays and scalars compare by value.
 */
export type SnapshotChange =
  | { kind: 'added'; path: string; after: unknown }
  | { kind: 'removed'; path: string; before: unknown }
  | { kind: 'changed'; path: string; before: unknown; after: unknown };

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof RawNumber);
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof RawNumber || b instanceof RawNumber) return String(a) === String(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => same(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => same(a[key], b[key]));
  }
  return Object.is(a, b);
}

export function diffSnapshots(before: unknown, after: unknown, path = ''): SnapshotChange[] {
  if (isObject(before) && isObject(after)) {
    const changes: SnapshotChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      const child = path ? `${path}.${key}` : key;
      if (!(key in before)) changes.push({ kind: 'added', path: child, after: after[key] });
      else if (!(key in after)) changes.push({ kind: 'removed', path: child, before: before[key] });
      else changes.push(...diffSnapshots(before[key], after[key], child));
    }
    return changes;
  }
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ kind: 'added', path, after }];
  if (after === undefined) return [{ kind: 'removed', path, before }];
  return same(before, after) ? [] : [{ kind: 'changed', path, before, after }];
}
