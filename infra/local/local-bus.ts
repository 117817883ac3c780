import { randomUUID } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_REGION } from '../../shared/definitions/environment.js';
import { eventRules, type EventRuleDefinition } from '../../shared/definitions/event-rules.js';
import { matchesPattern } from '../../shared/domain/event-pattern.js';
import { parseJsonLossless } from '../../shared/domain/json.js';
import type { BusEntry, EventBus } from '../../shared/domain/ports.js';
import type { SubscriberRule } from './subscriber-rules.js';

/** The envelope EventBridge delivers to a rule's target. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export interface RuleDelivery {
  rule: string;
  event: BusEvent;
}

/**
 * The local stand-in for the leadlog bus: every entry is matched against the same rule patterns CDK
 * deploys; each match is printed, appended to the alerts file (JSON lines) and optionally POSTed to a URL.
 */
export class LocalBus implements EventBus {
  private readonly listeners: ((delivery: RuleDelivery) => void)[] = [];

  constructor(
    private readonly options: {
      alertsFile?: string; postUrl?: string; print?: boolean; rules?: readonly EventRuleDefinition[]; region?: string;
      /** Subscribers' own rules (leadlog.rules.json): each match is appended to `<subscriberDir>/<rule name>.jsonl`. */
      subscriberRules?: readonly SubscriberRule[]; subscriberDir?: string;
    } = {},
  ) {}

  onDelivery(listener: (delivery: RuleDelivery) => void): () => void {
    this.listeners.push(listener);
    return () => this.listeners.splice(this.listeners.indexOf(listener), 1);
  }

  async putEvents(entries: BusEntry[]): Promise<number[]> {
    const deliveries: RuleDelivery[] = [];
    const subscribed: RuleDelivery[] = [];
    for (const entry of entries) {
      let detail: Record<string, unknown>;
      try {
        detail = parseJsonLossless(entry.Detail) as Record<string, unknown>;
      } catch (error) {
        // One entry the bus cannot read (e.g. nested past the JSON depth limit) matches no rule; it is logged and
        // never blocks the entries after it nor, by a refusal retried forever, the stream behind them.
        console.error(`local bus: an entry of type '${entry.DetailType}' could not be read and matches no rule: ${(error as Error).message}`);
        continue;
      }
      const event: BusEvent = {
        version: '0', id: randomUUID(), 'detail-type': entry.DetailType, source: entry.Source, account: '000000000000',
        time: (entry.Time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'), region: this.options.region ?? DEFAULT_REGION, resources: [],
        detail,
      };
      for (const rule of this.options.rules ?? eventRules) if (this.matches(rule.id, event, rule.pattern)) deliveries.push({ rule: rule.id, event });
      for (const rule of this.options.subscriberRules ?? []) if (this.matches(rule.name, event, rule.pattern)) subscribed.push({ rule: rule.name, event });
    }
    if (subscribed.length > 0 && this.options.subscriberDir) {
      await mkdir(this.options.subscriberDir, { recursive: true });
      for (const { rule, event } of subscribed) {
        await appendFile(join(this.options.subscriberDir, `${rule}.jsonl`), `${JSON.stringify(event)}\n`)
          .catch((error: unknown) => this.ruleFailed(rule, 'could not record a match', error));
      }
    }
    for (const delivery of deliveries) {
      if (this.options.print) console.log(`alert [${delivery.rule}] ${delivery.event['detail-type']} ${JSON.stringify(delivery.event.detail).slice(0, 300)}`);
      for (const listener of this.listeners) {
        try {
          listener(delivery);
        } catch (error) {
          this.ruleFailed(delivery.rule, 'a listener failed', error);
        }
      }
    }
    if (deliveries.length > 0 && this.options.alertsFile) {
      await appendFile(this.options.alertsFile, deliveries.map((d) => JSON.stringify({ rule: d.rule, ...d.event })).join('\n') + '\n');
    }
    if (this.options.postUrl) {
      await Promise.all(deliveries.map((d) => fetch(this.options.postUrl!, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rule: d.rule, ...d.event }) }).catch(() => undefined)));
    }
    return [];
  }

  /**
   * One rule against one event. Invariant: the bus is shared by every rule and every tenant, so a rule whose
   * pattern throws on some event (a bug, or an input nobody foresaw) is logged by name and counts as no match;
   * the other rules and the next events go on.
   */
  private matches(rule: string, event: BusEvent, pattern: EventRuleDefinition['pattern']): boolean {
    try {
      return matchesPattern(event, pattern);
    } catch (error) {
      this.ruleFailed(rule, `could not be matched against event ${event.id}`, error);
      return false;
    }
  }

  private ruleFailed(rule: string, what: string, error: unknown): void {
    console.error(`local bus: rule '${rule}' ${what}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
