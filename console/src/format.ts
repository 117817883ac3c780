/** Time presets of the filters, and how times and durations read. */
export const RANGES = {
  '1h': { label: 'Last hour', ms: 3_600_000 },
  '24h': { label: 'Last 24 hours', ms: 86_400_000 },
  '7d': { label: 'Last 7 days', ms: 7 * 86_400_000 },
} as const;
export type RangeKey = keyof typeof RANGES;

export function isRange(value: string | undefined): value is RangeKey {
  // Its own keys only: `?range=toString` or `constructor` names no preset (`in` would find Object.prototype's).
  return value !== undefined && Object.hasOwn(RANGES, value);
}

/** UTC, to the millisecond (the column header says UTC). */
export function formatTime(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 10)} ${d.toISOString().slice(11, 23)}`;
}

export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** The family of an event type: the part before the first dot (`source.submitted` → source), else the lead's own domain. */
export function familyOf(eventType: string): string {
  const dot = eventType.indexOf('.');
  return dot > 0 ? eventType.slice(0, dot) : 'domain';
}
