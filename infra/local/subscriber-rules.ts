import { existsSync, readFileSync } from 'node:fs';
import { validatePattern } from '../../shared/domain/event-pattern.js';
import { parseJsonLossless } from '../../shared/domain/json.js';
import type { EventPattern } from '../../shared/definitions/event-rules.js';

/** A subscriber's own EventBridge rule, run on the local bus (contract section 5). */
export interface SubscriberRule {
  name: string;
  pattern: EventPattern;
}

/** EventBridge's rule-name constraint. */
const RULE_NAME = /^[.\-_A-Za-z0-9]{1,64}$/;

export class SubscriberRulesError extends Error {
  override name = 'SubscriberRulesError';
}

/**
 * `leadlog.rules.json` (`{"<rule name>": <event pattern>}`), validated as EventBridge validates a rule: every
 * problem of every rule, each with the rule's name, in one error. No file: no rules. A pattern over EventBridge's
 * size limit (MAX_EVENT_PATTERN_CHARACTERS) is one of those problems.
 */
export function loadSubscriberRules(file: string): SubscriberRule[] {
  if (!existsSync(file)) return [];
  let parsed: unknown;
  try {
    // Lossless, as EventBridge reads a pattern: a number a double cannot hold keeps its digits, so the validator
    // sees it (and refuses it where event-ruler cannot compare it) instead of a silently rounded double.
    parsed = parseJsonLossless(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SubscriberRulesError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SubscriberRulesError(`${file} must be an object: {"<rule name>": <event pattern>, …}`);
  }
  const problems: string[] = [];
  const rules: SubscriberRule[] = [];
  for (const [name, pattern] of Object.entries(parsed)) {
    if (!RULE_NAME.test(name)) problems.push(`rule '${name.slice(0, 80)}': a rule name is 1 to 64 of A-Z a-z 0-9 . - _`);
    const refused = validatePattern(pattern);
    problems.push(...refused.map((reason) => `rule '${name.slice(0, 80)}': ${reason}`));
    if (refused.length === 0) rules.push({ name, pattern: pattern as EventPattern });
  }
  if (problems.length > 0) throw new SubscriberRulesError(`${file}: EventBridge would refuse ${problems.length === 1 ? 'this' : 'these'}:\n  ${problems.join('\n  ')}`);
  return rules;
}
