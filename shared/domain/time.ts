/** Timestamps: ISO 8601 in, UTC with millisecond precision out (`2026-11-23T14:30:45.123Z`). */
export const DAY_MS = 86_400_000;
/** Events live in DynamoDB (and the API) for 90 days after they were received. */
export const RETENTION_MS = 90 * DAY_MS;
/** occurred_at may run ahead of our clock by at most this much (client clock skew). */
export const MAX_FUTURE_SKEW_MS = 5 * 60_000;

const ISO_WITH_OFFSET =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Parses an ISO 8601 date-time that carries an offset; returns epoch ms or undefined. */
/** What a date-time must be, for the problem that refuses one (the range is the archive's: 1970 to 9999). */
export const ISO_DATE_TIME_RULE = 'must be an ISO 8601 date-time with an offset, from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z, e.g. 2026-11-23T14:30:45.123Z';

export function parseIsoWithOffset(value: string): number | undefined {
  const match = ISO_WITH_OFFSET.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s = '00', frac = '', offset = 'Z'] = match;
  const year = Number(y);
  if (year < 1970 || year > 9999) return undefined;
  const normalized = `${y}-${mo}-${d}T${h}:${mi}:${s}.${(frac + '000').slice(0, 3)}${
    offset === 'Z' ? 'Z' : offset.length === 5 ? `${offset.slice(0, 3)}:${offset.slice(3)}` : offset
  }`;
  const ms = Date.parse(normalized);
  // Before the epoch in UTC (1970-01-01T00:30+01:00) is out of range too: the archive's projection starts there.
  if (Number.isNaN(ms) || ms < 0) return undefined;
  // Date.parse rolls 2026-02-30 over to March; a calendar-invalid date is not a date.
  const probe = new Date(Date.UTC(year, Number(mo) - 1, Number(d)));
  if (probe.getUTCMonth() !== Number(mo) - 1 || probe.getUTCDate() !== Number(d)) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  return ms;
}

export function toIso(ms: number): string {
  return new Date(ms).toISOString();
}

export function utcDay(iso: string): string {
  return iso.slice(0, 10);
}

/** The UTC days (yyyy-MM-dd) that [fromMs, toMs) touches, oldest first: one partition each in day-keyed tables. */
export function utcDays(fromMs: number, toMs: number): string[] {
  const days: string[] = [];
  for (let day = Date.parse(utcDay(toIso(fromMs))); day < toMs; day += DAY_MS) days.push(utcDay(toIso(day)));
  return days;
}
