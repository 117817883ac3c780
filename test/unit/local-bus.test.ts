import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalBus } from '../../infra/local/local-bus.js';

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
});
