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

/**
 * A snapshot's keys are the sender's (`toString`, `constructor`, `__proto__`, `hasOwnProperty` are field names like
 * any other): a key is present only as the object's own property, and is read only as one, never through the
 * prototype chain (`key in object` and `object[key]` would find Object.prototype's members).
 */
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? Object.getOwnPropertyDescriptor(object, key)!.value : undefined;
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof RawNumber || b instanceof RawNumber) return String(a) === String(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => same(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => Object.hasOwn(a, key) === Object.hasOwn(b, key) && same(own(a, key), own(b, key)));
  }
  return Object.is(a, b);
}

export function diffSnapshots(before: unknown, after: unknown, path = ''): SnapshotChange[] {
  if (isObject(before) && isObject(after)) {
    const changes: SnapshotChange[] = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    for (const key of keys) {
      const child = path ? `${path}.${key}` : key;
      if (!Object.hasOwn(before, key)) changes.push({ kind: 'added', path: child, after: own(after, key) });
      else if (!Object.hasOwn(after, key)) changes.push({ kind: 'removed', path: child, before: own(before, key) });
      else changes.push(...diffSnapshots(own(before, key), own(after, key), child));
    }
    return changes;
  }
  if (before === undefined && after === undefined) return [];
  if (before === undefined) return [{ kind: 'added', path, after }];
  if (after === undefined) return [{ kind: 'removed', path, before }];
  return same(before, after) ? [] : [{ kind: 'changed', path, before, after }];
}
