import { alertRules, BUCKET_MS, WINDOW_MS, type AlertRuleDefinition, type AlertRuleId } from '../definitions/alert-rules.js';
import type { LeadEvent } from './event.js';
import { maskContacts, maskFreeText, maskId, pseudonymDigest } from './masking.js';
import type { AlertStore } from './ports.js';
import { parseRangePage, rangePageParams, type Cursors } from './cursor.js';
import { DAY_MS, toIso } from './time.js';

/**
 * Windowed alerts. Each stream batch is folded into counter deltas, one per (org, rule, dimension,
 * 5-minute bucket); the store applies each delta as one atomic, idempotent update; then every touched
 * (org, rule, dimension) is evaluated over the last hour and fires at most once per window.
 */
/** One event's part in a counter, with its stream sequence number (zero-padded, so strings compare in order). */
export interface Contribution {
  sequence: string;
  /** numerator / denominator for rates; sum / count for averages */
  numerator: number;
  denominator: number;
  reason?: string;
}

/** Everything a batch adds to one counter item. */
export interface CounterDelta {
  orgId: string;
  rule: AlertRuleId;
  dimension: string;
  bucketStart: number;
  contributions: Contribution[];
}

export function padSequence(sequence: string): string {
  return sequence.padStart(40, '0');
}

/** Sums contributions into counter totals. */
export function sumContributions(contributions: Contribution[]): CounterTotals {
  const totals: CounterTotals = { numerator: 0, denominator: 0, reasons: {} };
  for (const c of contributions) {
    totals.numerator += c.numerator;
    totals.denominator += c.denominator;
    if (c.reason) totals.reasons[c.reason] = (totals.reasons[c.reason] ?? 0) + 1;
  }
  return totals;
}

export interface CounterTotals {
  numerator: number;
  denominator: number;
  reasons: Record<string, number>;
}

export interface AlertRaised {
  rule_id: AlertRuleId;
  org_id: string;
  dimension: string;
  window_start: string;
  window_end: string;
  value: number;
  threshold: number;
  sample_size: number;
  top_reasons: { reason: string; count: number }[];
}

const REJECTED = new Set(['source.rejected', 'filter.failed']);

function bucketOf(iso: string): number {
  return Math.floor(Date.parse(iso) / BUCKET_MS) * BUCKET_MS;
}

/** The longest dimension kept as it is; a longer one keeps a prefix and a digest (see alertDimension). */
export const MAX_DIMENSION_LENGTH = 200;
/** A duration counted towards step_duration: finite, not negative, under a year (an absurd value is no step's time). */
const MAX_DURATION_MS = 365 * DAY_MS;
const CONTROL = /\p{Cc}/u;

/**
 * The dimension an alert is counted and raised under, safe for every store and encoder it reaches (DynamoDB keys
 * and items, UUIDv5, JSON, the bus): a well-formed value without control characters and at most
 * MAX_DIMENSION_LENGTH characters is itself; any other (stored before the boundary refused it, or from a provider)
 * is a readable, well-formed prefix plus `~` and a keyed digest of its exact UTF-16 code units (pseudonymDigest: the
 * pseudonym key, as maskId; an unkeyed digest would confirm a guess at what the prefix hides),
 * so distinct values stay distinct and one tenant's odd `step_id` or `entity_id` never throws in alert evaluation.
 * The prefix is cut from the value with its e-mails and phones already masked (maskContacts on the whole value):
 * a cut never splits an address or a number so that what is left goes unrecognised and unmasked.
 */
export function alertDimension(value: string): string {
  if (value.length <= MAX_DIMENSION_LENGTH && value.isWellFormed() && !CONTROL.test(value)) return value;
  const masked = maskContacts(value.toWellFormed());
  const readable = masked.slice(0, 64).toWellFormed().replace(/\p{Cc}/gu, '\uFFFD');
  return `${readable}~${pseudonymDigest(Buffer.from(value, 'utf16le')).slice(0, 16)}`;
}

/** Free text cut to `max` characters without splitting a surrogate pair, and well-formed. */
function boundedText(text: string, max: number): string {
  const cut = text.slice(0, max);
  return (/[\uD800-\uDBFF]$/.test(cut) && text.length > max ? cut.slice(0, -1) : cut).toWellFormed();
}

/** What one event contributes to each rule: [rule, dimension, numerator, denominator, reason?]. */
function contributions(event: LeadEvent): [AlertRuleId, string, number, number, string | undefined][] {
  const out: [AlertRuleId, string, number, number, string | undefined][] = [];
  if (!Number.isFinite(bucketOf(event.occurred_at))) return out; // no window to count it in
  const reason = event.reason;
  if (event.event_type === 'source.submitted') {
    out.push(['rejection_rate', 'all', 0, 1, undefined], ['source_rejection_rate', event.source, 0, 1, undefined]);
  } else if (REJECTED.has(event.event_type)) {
    out.push(['rejection_rate', 'all', 1, 0, reason], ['source_rejection_rate', event.source, 1, 0, reason]);
  }
  if (event.entity_id && (event.event_type === 'recipient.delivered' || event.event_type === 'recipient.failed')) {
    const delivered = event.event_type === 'recipient.delivered' ? 1 : 0;
    out.push(['buyer_acceptance', event.entity_id, delivered, 1, delivered ? undefined : reason]);
  }
  const duration = event.timing?.duration_ms;
  if (typeof duration === 'number' && duration >= 0 && duration <= MAX_DURATION_MS) out.push(['step_duration', event.step_id ?? event.event_type, duration, 1, undefined]);
  return out.map(([rule, dimension, ...rest]) => [rule, alertDimension(dimension), ...rest]);
}

/** Whether an event adds to any windowed rule's counters (most events do not). */
export function countsTowardAlerts(event: LeadEvent): boolean {
  return contributions(event).length > 0;
}

/** Folds a batch of stream records into one delta per counter item (so one update per item, not per event). */
export function aggregate(records: { event: LeadEvent; sequence: string }[]): CounterDelta[] {
  const deltas = new Map<string, CounterDelta>();
  for (const { event, sequence } of records) {
    const bucketStart = bucketOf(event.occurred_at);
    for (const [rule, dimension, numerator, denominator, reason] of contributions(event)) {
      const key = `${event.org_id}\u0000${rule}\u0000${dimension}\u0000${bucketStart}`;
      const delta = deltas.get(key) ?? { orgId: event.org_id, rule, dimension, bucketStart, contributions: [] };
      // Reasons go into counters and Alert Raised's top_reasons: masked like everything that leaves the table.
      delta.contributions.push({ sequence: padSequence(sequence), numerator, denominator, ...(reason ? { reason: boundedText(maskFreeText(reason), 200) } : {}) });
      deltas.set(key, delta);
    }
  }
  return [...deltas.values()];
}

/** The buckets of the hour ending with the bucket that holds `atMs`. */
export function windowBuckets(atMs: number): number[] {
  const last = Math.floor(atMs / BUCKET_MS) * BUCKET_MS;
  return Array.from({ length: WINDOW_MS / BUCKET_MS }, (_, i) => last - (WINDOW_MS / BUCKET_MS - 1 - i) * BUCKET_MS);
}

export interface RuleSettings {
  threshold: number;
  minSamples: number;
  enabled: boolean;
}

export function settingsFor(rule: AlertRuleDefinition, overrides: Partial<Record<AlertRuleId, Partial<RuleSettings>>> | undefined): RuleSettings {
  return { threshold: rule.threshold, minSamples: rule.minSamples, enabled: true, ...overrides?.[rule.id] };
}

/** Evaluates one rule over a window's totals; an alert when the value crosses the threshold with enough samples. */
export function evaluate(
  rule: AlertRuleDefinition, settings: RuleSettings, orgId: string, dimension: string, totals: CounterTotals, atMs: number,
): AlertRaised | undefined {
  if (!settings.enabled || totals.denominator < settings.minSamples || totals.denominator === 0) return undefined;
  const value = totals.numerator / totals.denominator;
  const crossed = rule.comparison === 'gt' ? value > settings.threshold : value < settings.threshold;
  if (!crossed) return undefined;
  // Alerts are deduplicated per clock hour: at most one per rule, dimension and window.
  const windowStart = Math.floor(atMs / WINDOW_MS) * WINDOW_MS;
  return {
    rule_id: rule.id,
    org_id: orgId,
    // The alert is what leaves (the bus, GET /v1/alerts, the console, logs): its dimension masked as an id (maskId:
    // distinct per buyer or step, so two never share a raised mark). Counters stay keyed by the real dimension.
    dimension: maskId(dimension),
    window_start: new Date(windowStart).toISOString(),
    window_end: new Date(windowStart + WINDOW_MS).toISOString(),
    value: Number(value.toFixed(4)),
    threshold: settings.threshold,
    sample_size: totals.denominator,
    top_reasons: Object.entries(totals.reasons).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5).map(([reason, count]) => ({ reason, count })),
  };
}

export function ruleById(id: AlertRuleId): AlertRuleDefinition {
  return alertRules.find((rule) => rule.id === id)!;
}

export interface AlertContext {
  store: AlertStore;
  publish: (alert: AlertRaised) => Promise<void>;
  /** Now (the clock's): a window that ended more than WINDOW_MS before it is counted but never evaluated. */
  nowMs: number;
}

/**
 * Counts a batch (records already published to the bus, in stream order) and raises what crossed a
 * threshold. One write per counter item per batch, then one evaluation per touched rule and dimension.
 */
export async function processAlerts(context: AlertContext, records: { event: LeadEvent; sequence: string }[]): Promise<AlertRaised[]> {
  const deltas = aggregate(records);
  for (let i = 0; i < deltas.length; i += 16) await Promise.all(deltas.slice(i, i + 16).map((delta) => context.store.apply(delta)));
  const touched = new Map<string, { orgId: string; rule: AlertRuleId; dimension: string; atMs: number }>();
  for (const delta of deltas) {
    const key = `${delta.orgId}\u0000${delta.rule}\u0000${delta.dimension}`;
    const atMs = delta.bucketStart + BUCKET_MS - 1;
    const seen = touched.get(key);
    if (!seen || seen.atMs < atMs) touched.set(key, { orgId: delta.orgId, rule: delta.rule, dimension: delta.dimension, atMs });
  }
  const overrides = new Map<string, Awaited<ReturnType<AlertStore['overrides']>>>();
  const raised: AlertRaised[] = [];
  for (const { orgId, rule, dimension, atMs } of touched.values()) {
    // Backfilled history (contract section 15): counted above, but a window that ended over an hour ago never raises.
    if (atMs < context.nowMs - WINDOW_MS) continue;
    if (!overrides.has(orgId)) overrides.set(orgId, await context.store.overrides(orgId));
    const definition = ruleById(rule);
    const buckets = windowBuckets(atMs);
    const settings = settingsFor(definition, overrides.get(orgId));
    const totals = await context.store.totals(orgId, rule, dimension, buckets, context.nowMs);
    const crossed = evaluate(definition, settings, orgId, dimension, totals, atMs);
    // Over the threshold and not yet raised: only then are the window's reasons read (for top_reasons).
    if (!crossed || (await context.store.raised(crossed))) continue;
    const alert = evaluate(definition, settings, orgId, dimension, { ...totals, reasons: await context.store.reasons(orgId, rule, dimension, buckets) }, atMs)!;
    if (!(await context.store.markRaised(alert))) continue;
    try {
      await context.publish(alert);
    } catch (error) {
      await context.store.unmarkRaised(alert); // so the retried batch can raise it again
      throw error;
    }
    raised.push(alert);
  }
  return raised;
}

/** How long a raised alert stays listed (GET /v1/alerts) after its window. */
export const ALERT_HISTORY_DAYS = 30;

/** GET /v1/alerts' query parameters: a window-start range (default the last 7 days), a page size, a cursor. */
export const alertParams = rangePageParams;

/** GET /v1/alerts (scope events:read): the org's raised alerts, newest first (section 5; the console's alerts page). */
export async function listAlerts(
  store: AlertStore, cursors: Cursors, orgId: string, params: Record<string, string | undefined>, nowMs: number,
): Promise<{ items: AlertRaised[]; next_cursor: string | null }> {
  const { fromMs, toMs, limit, after: position, binding, defaults } = await parseRangePage(params, nowMs, 7 * DAY_MS, cursors, orgId, 'alerts');
  const after = position?.timeKey;
  const page = await store.recent(orgId, { fromIso: toIso(fromMs), toIso: toIso(toMs), limit: limit ?? 50, ...(after ? { after } : {}) });
  // Masked again on the way out (idempotent): alerts raised before dimensions were masked are stored as they were.
  return { items: page.items.map((alert) => ({ ...alert, dimension: maskId(alert.dimension) })), next_cursor: page.next ? await cursors.encode({ partition: 0, timeKey: page.next }, orgId, binding, defaults) : null };
}
