import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { LocalBus } from '../../infra/local/local-bus.js';
import { loadSubscriberRules, SubscriberRulesError } from '../../infra/local/subscriber-rules.js';

describe('the local bus', () => {
  it('appends rule matches to the alerts file and POSTs them to the configured URL; non-matches go nowhere', async () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const alertsFile = join(mkdtempSync(join(tmpdir(), 'leadlog-bus-')), 'alerts.jsonl');
    const bus = new LocalBus({ alertsFile, postUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook` });
    const entry = (type: string, payload: object) => ({ Source: 'leadlog', DetailType: type, Detail: JSON.stringify({ org_id: 'o', event_type: type, payload }) });
    expect(await bus.putEvents([entry('objection_raised', { type: 'price' }), entry('purchase_abandoned', { cart_value: 100 }), entry('purchase_abandoned', { cart_value: 900 })])).toEqual([]);
    server.close();
    const lines = readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.rule)).toEqual(['objection-raised', 'large-cart-abandoned']);
    expect(lines[1]).toMatchObject({ source: 'leadlog', 'detail-type': 'purchase_abandoned', detail: { payload: { cart_value: 900 } } });
    expect(received).toHaveLength(2);
  });

  it("runs subscribers' own rules from leadlog.rules.json, each match appended to .data/rules/<name>.jsonl", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-rules-'));
    const file = join(dir, 'leadlog.rules.json');
    writeFileSync(file, JSON.stringify({
      'big-purchases': { source: ['leadlog'], 'detail-type': ['purchase_completed'], detail: { payload: { amount: [{ numeric: ['>=', 1000] }] } } },
      'no-reason': { 'detail-type': ['source.rejected'], detail: { reason: [{ exists: false }] } },
    }));
    const rules = loadSubscriberRules(file);
    expect(rules.map((r) => r.name)).toEqual(['big-purchases', 'no-reason']);
    const bus = new LocalBus({ rules: [], subscriberRules: rules, subscriberDir: join(dir, 'rules') });
    const entry = (type: string, detail: object) => ({ Source: 'leadlog', DetailType: type, Detail: JSON.stringify({ org_id: 'o', event_type: type, ...detail }) });
    await bus.putEvents([entry('purchase_completed', { payload: { amount: 1500 } }), entry('purchase_completed', { payload: { amount: 10 } }), entry('source.rejected', {}), entry('source.rejected', { reason: 'dup' })]);
    const read = (name: string) => readFileSync(join(dir, 'rules', `${name}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(read('big-purchases').map((e) => e.detail.payload.amount)).toEqual([1500]);
    expect(read('no-reason')).toHaveLength(1);
    expect(loadSubscriberRules(join(dir, 'absent.json'))).toEqual([]);
    expect(existsSync(join(dir, 'rules', 'absent.jsonl'))).toBe(false);
  });

  it('refuses at start every rule EventBridge would refuse, naming the rule and the reason', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'leadlog-rules-')), 'leadlog.rules.json');
    writeFileSync(file, JSON.stringify({ fine: { source: ['leadlog'] }, 'upside-down': { n: [{ numeric: ['<', 5, '>', 1] }] }, 'bad name!': { $or: [{ a: ['x'] }] } }));
    expect(() => loadSubscriberRules(file)).toThrow(SubscriberRulesError);
    try {
      loadSubscriberRules(file);
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain("rule 'upside-down': n[0]: too many elements");
      expect(message).toContain("rule 'bad name!': a rule name is");
      expect(message).toContain("rule 'bad name!': $or: there must be at least 2 objects");
      expect(message).not.toContain("'fine'");
    }
    writeFileSync(file, '{ not json');
    expect(() => loadSubscriberRules(file)).toThrow(/not valid JSON/);
  });

  it("refuses at start a rule over EventBridge's pattern size limit, and a number a double cannot hold, naming each", () => {
    const file = join(mkdtempSync(join(tmpdir(), 'leadlog-rules-')), 'leadlog.rules.json');
    const stars = '*a'.repeat(1_200);
    writeFileSync(file, `{"fine": {"source": ["leadlog"]}, "huge": {"detail": {"lead_id": [{"wildcard": "${stars}"}]}}, "far": {"n": [{"numeric": [">", 1e400]}]}}`);
    expect(() => loadSubscriberRules(file)).toThrow(/rule 'huge': pattern: \d+ characters, over EventBridge's event pattern size limit of 2048/);
    expect(() => loadSubscriberRules(file)).toThrow(/rule 'far': n\[0\]: cannot compare number 1e400/);
  });

  it('one rule that throws on an event is logged by name and never stops the other rules or the next events', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadlog-rules-'));
    const errors = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const bus = new LocalBus({
        rules: [],
        // A pattern the validator would refuse (an unknown operator) stands for any rule that throws while matching.
        subscriberRules: [
          { name: 'broken', pattern: { detail: { org_id: [{ 'no-such-operator': 'x' }] } } },
          { name: 'every-org', pattern: { source: ['leadlog'] } },
        ],
        subscriberDir: join(dir, 'rules'),
      });
      const entry = (org: string) => ({ Source: 'leadlog', DetailType: 'custom.x', Detail: JSON.stringify({ org_id: org }) });
      const unreadable = { Source: 'leadlog', DetailType: 'custom.deep', Detail: `${'['.repeat(300)}${']'.repeat(300)}` };
      expect(await bus.putEvents([entry('org-a'), unreadable, entry('org-b')])).toEqual([]);
      const lines = readFileSync(join(dir, 'rules', 'every-org.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.map((l) => l.detail.org_id)).toEqual(['org-a', 'org-b']);
      expect(errors.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/rule 'broken' could not be matched/);
      expect(errors.mock.calls.map((c) => String(c[0])).join('\n')).toMatch(/'custom.deep' could not be read/);
    } finally {
      errors.mockRestore();
    }
  });
});

