import { describe, expect, it } from 'vitest';
import { validateEventInput } from '../../shared/domain/event.js';
import { eventIdFor } from '../../shared/domain/ids.js';
import { personKeys } from '../../shared/domain/identity.js';
import { timeTiebreak } from '../../shared/domain/keys.js';
import {
  LEADCONDUIT_MAPPING, MAX_DERIVED_OBJECT_BYTES, NO_REASON, REDACTED, mapLeadConduitEvent, redactCredentials, type MappedLeadConduitEvent,
} from '../../shared/domain/leadconduit/mapping.js';
import { leadconduitEventValidator, leadconduitFixtures } from '../fixtures/leadconduit/validator.js';

const ORG = 'org_lc_mapping';
const NOW = Date.parse('2026-12-06T08:00:00Z');
const fixtures = leadconduitFixtures();
const clone = <T>(value: T): T => structuredClone(value);

function mapped(object: unknown): MappedLeadConduitEvent {
  const result = mapLeadConduitEvent(redactCredentials(object), ORG);
  if (!result.ok) throw new Error(`not mapped: ${JSON.stringify(result.errors)}`);
  return result.value;
}

describe('the fixtures are LeadConduit events (its published schema, ajv)', () => {
  const validate = leadconduitEventValidator();
  it.each(Object.keys(fixtures))('%s validates against event.schema.json', (name) => {
    const ok = validate(fixtures[name]);
    expect(validate.errors ?? [], name).toEqual([]);
    expect(ok).toBe(true);
  });

  it('covers every type × outcome of section 12', () => {
    const covered = new Set(Object.values(fixtures).map((f) => `${String(f.type)}:${String(f.outcome)}`));
    for (const type of ['source', 'filter', 'recipient'] as const) {
      for (const outcome of Object.keys(LEADCONDUIT_MAPPING[type])) expect(covered, `${type}:${outcome}`).toContain(`${type}:${outcome}`);
    }
    for (const type of ['retry', 'feedback-received', 'feedback-sent']) expect([...covered].some((c) => c.startsWith(`${type}:`)), type).toBe(true);
  });

  it('refuses what LeadConduit would not send (the validator is not vacuous)', () => {
    const wrongOutcome = { ...clone(fixtures['filter-stop']!), outcome: 'success' };
    const noId = clone(fixtures['source-success']!);
    delete noId.id;
    const badHeader = clone(fixtures['recipient-success']!);
    ((badHeader.transactions as { request: { headers: Record<string, unknown> } }[])[0]!.request.headers)['X-Empty'] = '';
    for (const event of [wrongOutcome, noId, badHeader]) expect(validate(event)).toBe(false);
  });
});

/** Section 12's table, one row per type × outcome: the fixture and what leadlog stores. */
const TABLE = [
  ['source-success', 'source.accepted', 'success', 'source'],
  ['source-failure', 'source.rejected', 'failure', 'source'],
  ['source-error', 'source.error', 'error', 'source'],
  ['filter-continue', 'filter.passed', 'success', 'source'],
  ['filter-stop', 'filter.failed', 'failure', 'source'],
  ['filter-error', 'filter.error', 'error', 'source'],
  ['recipient-success', 'recipient.delivered', 'success', 'recipient'],
  ['recipient-failure', 'recipient.failed', 'failure', 'recipient'],
  ['recipient-error', 'recipient.error', 'error', 'recipient'],
  ['recipient-skip', 'recipient.skipped', 'skip', 'recipient'],
  ['retry-success', 'retry.attempted', 'success', 'recipient'],
  ['feedback-received', 'feedback.received', 'success', 'recipient'],
  ['feedback-sent', 'feedback.sent', 'success', 'recipient'],
] as const;

describe('mapLeadConduitEvent: type × outcome (contract section 12)', () => {
  it.each(TABLE)('%s → %s (%s)', (name, eventType, outcome, entity) => {
    const lc = fixtures[name]!;
    const { input, leadconduitId } = mapped(lc);
    const vars = lc.vars as Record<string, Record<string, unknown>>;
    expect(input.event_type).toBe(eventType);
    expect(input.outcome).toBe(outcome);
    expect(input.source).toBe('leadconduit');
    expect(input.source_type).toBe('external');
    expect(input.external_event_id).toBe(lc.id);
    expect(leadconduitId).toBe(lc.id);
    expect(input.lead_id).toBe(vars.lead!.id);
    expect(input.flow_id).toBe(vars.flow!.id);
    expect(input.entity_id).toBe(vars[entity]!.id);
    expect(input.step_id).toBe(lc.step_id);
    expect(input.occurred_at).toBe(new Date(lc.start_timestamp as number).toISOString());
    expect(input.timing).toEqual({
      start_timestamp: lc.start_timestamp, end_timestamp: lc.end_timestamp, duration_ms: lc.ms, wait_ms: lc.wait_ms,
      overhead_ms: lc.overhead_ms, lag_ms: lc.lag_ms, total_ms: lc.total_ms,
    });
    const payload = input.payload as Record<string, unknown>;
    expect(payload.leadconduit).toEqual({ type: lc.type, outcome: lc.outcome });
    expect(payload.flow_name).toBe(vars.flow!.name);
    expect(payload.source_name).toBe(vars.source!.name);
    if (lc.reason) expect(input.reason).toBe(lc.reason);
    else expect(input.reason).toBeUndefined();
    // What the mapping makes is a valid leadlog event as it stands (no field is refused downstream).
    const validation = validateEventInput(input, { now: NOW, requireLeadId: true });
    expect(validation.ok ? [] : validation.errors).toEqual([]);
  });

  it('every outcome of the table maps, and no other', () => {
    for (const [type, outcomes] of Object.entries(LEADCONDUIT_MAPPING)) {
      for (const [outcome, expected] of Object.entries(outcomes)) {
        const event = { ...clone(fixtures['recipient-success']!), type, outcome, reason: 'because' };
        expect(mapped(event).input).toMatchObject({ event_type: expected.eventType, outcome: expected.outcome });
      }
      const odd = mapLeadConduitEvent({ ...clone(fixtures['recipient-success']!), type, outcome: 'maybe' }, ORG);
      expect(odd.ok ? [] : odd.errors.map((e) => e.path)).toEqual(['outcome']);
    }
  });

  it('recipient payload: price from vars, prices, http_status of the last transaction, recipient name; appended under its key', () => {
    const { input } = mapped(fixtures['recipient-success']);
    expect(input.payload).toMatchObject({
      price: 12.5, cost: 4, purchase_price: 4, sale_price: 12.5, revenue: 8.5, http_status: 200,
      module_id: 'leadconduit-custom.outbound.json', recipient_name: 'Lone Star Insurance Buyer',
    });
    expect(input.appended).toEqual({ lone_star: { outcome: 'success', lead_id: 'LS-99812', price: 12.5 } });
    expect(mapped(fixtures['recipient-failure']).input.payload).toMatchObject({ http_status: 400, price: 0 });
    // A source event's appended is its own `appended`; vars.price is a recipient's, never a source's.
    const source = mapped(fixtures['source-success']).input;
    expect(source.appended).toEqual(fixtures['source-success']!.appended);
    expect((source.payload as Record<string, unknown>).price).toBeUndefined();
  });

  it('lead_snapshot is vars.lead as sent (typed values whole)', () => {
    expect(mapped(fixtures['filter-continue']).input.lead_snapshot).toEqual((fixtures['filter-continue']!.vars as Record<string, unknown>).lead);
  });

  it('feedback links to the recipient event it answers: related_event_id is leadlog\'s id of it, type and reason from vars.feedback', () => {
    for (const name of ['feedback-received', 'feedback-sent']) {
      const { input } = mapped(fixtures[name]);
      const recipientId = fixtures['recipient-success']!.id as string;
      expect(input.payload).toMatchObject({
        type: 'return', reason: 'Disconnected phone number', recipient_event_id: recipientId,
        related_event_id: eventIdFor(ORG, 'leadconduit', recipientId),
      });
    }
  });

  it('a LeadConduit id in upper case is the same event, and a feedback naming its recipient in upper case links to it (red team #23)', () => {
    const recipient = fixtures['recipient-success']!;
    const upper = mapped({ ...clone(recipient), id: (recipient.id as string).toUpperCase() });
    expect(upper.leadconduitId).toBe((recipient.id as string).toLowerCase());
    expect(upper.input.external_event_id).toBe(mapped(recipient).input.external_event_id);
    const feedback = clone(fixtures['feedback-received']!);
    feedback.recipient_event_id = (feedback.recipient_event_id as string).toUpperCase();
    expect(mapped(feedback).input.payload).toMatchObject({ related_event_id: eventIdFor(ORG, 'leadconduit', (recipient.id as string).toLowerCase()) });
  });

  it('a failure or error without a reason gets one that says so (leadlog requires it); a long reason is cut to 2,000', () => {
    const noReason = { ...clone(fixtures['filter-stop']!), reason: null };
    expect(mapped(noReason).input.reason).toBe(NO_REASON);
    const long = { ...clone(fixtures['recipient-failure']!), reason: 'x'.repeat(5_000) };
    expect((mapped(long).input.reason as string).length).toBe(2_000);
    expect(mapped(long).input.raw_payload).toMatchObject({ reason: 'x'.repeat(5_000) });
  });

  it('odd values are left out of derived fields, never guessed (the raw object keeps them)', () => {
    const odd = {
      ...clone(fixtures['recipient-success']!), start_timestamp: 'yesterday', ms: -5, cost: -1, step_id: 'a\u0000b',
      vars: { ...(fixtures['recipient-success']!.vars as object), price: '12.50', flow: { id: 42, name: 'x'.repeat(5_000) } },
    };
    const { input } = mapped(odd);
    expect(input.occurred_at).toBe(new Date(fixtures["recipient-success"]!.end_timestamp as number).toISOString());
    expect(input.timing).not.toHaveProperty('duration_ms');
    expect(input.payload).not.toHaveProperty('cost');
    expect(input.payload).not.toHaveProperty('price');
    expect(input).not.toHaveProperty('step_id');
    expect(input).not.toHaveProperty('flow_id');
    expect(((input.payload as Record<string, unknown>).flow_name as string).length).toBe(1_000);
    expect(validateEventInput(input, { now: NOW }).ok).toBe(true);
  });

  it('a lead too large to copy beside the raw object is left out of lead_snapshot and named', () => {
    const big = clone(fixtures['filter-continue']!);
    (big.vars as { lead: Record<string, unknown> }).lead.comments = { normal: 'y'.repeat(MAX_DERIVED_OBJECT_BYTES), raw: '', valid: true };
    const { input } = mapped(big);
    expect(input).not.toHaveProperty('lead_snapshot');
    expect((input.payload as { leadconduit: unknown }).leadconduit).toEqual({ type: 'filter', outcome: 'continue', omitted: ['lead_snapshot'] });
  });
});

describe('not a LeadConduit event → invalid with the reason', () => {
  const base = fixtures['source-success']!;
  const without = (path: string[]) => {
    const copy = clone(base) as Record<string, unknown>;
    let node = copy;
    for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
    delete node[path.at(-1)!];
    return copy;
  };
  it.each([
    ['no id', without(['id']), 'id'],
    ['no type', without(['type']), 'type'],
    ['an unknown type', { ...base, type: 'ping' }, 'type'],
    ['no vars', without(['vars']), 'vars'],
    ['no vars.lead', without(['vars', 'lead']), 'vars.lead'],
    ['no vars.lead.id', without(['vars', 'lead', 'id']), 'vars.lead.id'],
    ['a numeric id', { ...base, id: 12345 }, 'id'],
    ['an id with a control character', { ...base, id: 'abc\u0007' }, 'id'],
  ])('%s', (_name, object, path) => {
    const result = mapLeadConduitEvent(object, ORG);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors.map((e) => e.path)).toContain(path);
      expect(result.errors.every((e) => e.message.length > 10)).toBe(true);
    }
  });
  it.each([null, 'source', 42, [], [base]])('%j is not an object', (value) => {
    expect(mapLeadConduitEvent(value, ORG)).toMatchObject({ ok: false, errors: [{ path: '' }] });
  });
});

describe('credentials are redacted before anything is derived', () => {
  it('Authorization, Proxy-Authorization, Cookie, Set-Cookie, X-Api-Key in any case, at any depth; credential objects whole', () => {
    const redacted = redactCredentials(fixtures['recipient-success']!) as Record<string, any>;
    const tx = redacted.transactions[0];
    expect(tx.request.headers).toEqual({ 'Content-Type': 'application/x-www-form-urlencoded', Cookie: REDACTED, 'proxy-authorization': REDACTED });
    expect(tx.response.headers['set-cookie']).toBe(REDACTED);
    expect(redacted.credential).toBe(REDACTED);
    const source = redactCredentials(fixtures['source-success']!) as Record<string, any>;
    expect(source.request.headers).toMatchObject({ Authorization: REDACTED, 'X-Api-Key': REDACTED, Accept: 'application/json' });
    expect(source.response.headers['Set-Cookie']).toBe(REDACTED);
    expect(JSON.stringify(redactCredentials(fixtures['feedback-sent']))).not.toContain('partner-key-55');
    expect(JSON.stringify(redactCredentials(fixtures['feedback-received']))).not.toContain('buyer-feedback-token-123');
  });

  it('odd shapes: header lists, padded names, deep nesting; nothing else touched; the input unchanged', () => {
    const odd = {
      a: { b: [{ headers: { ' AUTHORIZATION ': 'x', 'set-COOKIE': ['a=1', 'b=2'], 'x-trace': 'keep' } }] },
      headers: 'not an object', credential: 'a plain string is not a credential object', Authorization: 'not inside headers',
      ...(JSON.parse('{"__proto__": {"headers": {"cookie": "c"}}}') as object),
    };
    const before = JSON.stringify(odd);
    const out = redactCredentials(odd) as any;
    expect(out.a.b[0].headers).toEqual({ ' AUTHORIZATION ': REDACTED, 'set-COOKIE': REDACTED, 'x-trace': 'keep' });
    expect(out.headers).toBe('not an object');
    expect(out.credential).toBe('a plain string is not a credential object');
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toEqual({ headers: { cookie: REDACTED } });
    expect(JSON.stringify(odd)).toBe(before);
  });

  it('the mapped event holds no credential anywhere (raw object included)', () => {
    for (const [name, lc] of Object.entries(fixtures)) {
      const text = JSON.stringify(mapped(lc).input);
      for (const secret of ['QVBJOnNlY3JldC1zb3VyY2Uta2V5', 'src_live_7d9f0a1b2c3d', 'tok_live_9a8b7c6d5e4f', 'buyer_sid=', 'lc_session=', 'cHJveHk6cHJveHk=']) {
        expect(text, `${name}: ${secret}`).not.toContain(secret);
      }
    }
  });
});

describe('credentials in URLs, other headers and bodies (red team #23: they were stored and served by the raw read)', () => {
  /** A recipient event whose posting carries its buyer's credentials every way real integrations put them. */
  function leaky() {
    const event = structuredClone(fixtures['recipient-success']!) as Record<string, any>;
    event.vars.recipient.url = 'https://tok_live_11@hooks.example.com/x';
    event.transactions[0].request = {
      ...event.transactions[0].request,
      uri: 'https://buyer:s3cr3t_live_1@10.1.2.3:8443/post?api_key=AK_live_2&Key=K_live_3&access_token=T_live_4&phone_1=5127891111&X-Amz-Signature=SIG_live_5#frag',
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-Auth-Token': 'XAT_live_6', 'api-key': 'APIKEY_live_7', 'X-Amz-Security-Token': 'AMZ_live_8', 'X-Trace': 'keep-me' },
      body: '{"lead": {"phone_1": "5127891111"}, "auth": {"password": "PW_live_9", "api_key": "AK_live_10", "n": 12345678901234567890}, "credential": {"token": "CT_live_12"}}',
    };
    event.transactions[0].response = {
      ...event.transactions[0].response,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'status=ok&session_token=ST_live_13&Password=PW_live_14&note=keep+me',
    };
    return event;
  }
  const SECRETS = ['tok_live_11', 's3cr3t_live_1', 'AK_live_2', 'K_live_3', 'T_live_4', 'SIG_live_5', 'XAT_live_6', 'APIKEY_live_7', 'AMZ_live_8', 'PW_live_9', 'AK_live_10', 'CT_live_12', 'ST_live_13', 'PW_live_14'];

  it('userinfo and credential query parameters, every header section 9 calls a secret, credential fields of JSON and form bodies', () => {
    const redacted = redactCredentials(leaky());
    const text = JSON.stringify(redacted);
    expect(SECRETS.filter((secret) => text.includes(secret))).toEqual([]);
    const tx = redacted.transactions[0];
    // What is no credential keeps its bytes: the host, the path, the other parameters, the fragment, the lead's data.
    expect(tx.request.uri).toBe(`https://${REDACTED}@10.1.2.3:8443/post?api_key=${REDACTED}&Key=${REDACTED}&access_token=${REDACTED}&phone_1=5127891111&X-Amz-Signature=${REDACTED}#frag`);
    expect(tx.request.headers['X-Trace']).toBe('keep-me');
    expect(JSON.parse(tx.request.body).lead).toEqual({ phone_1: '5127891111' });
    expect(tx.request.body).toContain('"n":12345678901234567890'); // digits kept (lossless JSON)
    expect(tx.response.body).toBe(`status=ok&session_token=${REDACTED}&Password=${REDACTED}&note=keep+me`);
    expect(redacted.vars.recipient.url).toBe(`https://${REDACTED}@hooks.example.com/x`);
  });

  it('nothing of them reaches the mapped event; a body that is not JSON, a URL without credentials, a mailto: stay as sent', () => {
    const text = JSON.stringify(mapped(leaky()).input);
    expect(SECRETS.filter((secret) => text.includes(secret))).toEqual([]);
    const plain = { request: { uri: 'https://buyer.example.com/p?a=1&b=%ZZ', headers: { 'content-type': 'application/json' }, body: '{not json "password":"x"' }, url: 'mailto:joe@example.com' };
    expect(redactCredentials(plain)).toEqual(plain);
  });
});

describe('identities: e-mail and phone_1..3 (typed normal; E.164 with the typed value\'s country, default US)', () => {
  it('from the typed values', () => {
    const { identity } = mapped(fixtures['recipient-success']);
    expect(personKeys(identity)).toEqual(['email:joe@example.com', 'phone:+15127891111', 'phone:+12025550143', 'phone:+447911123456']);
  });
  it('plain strings, raw when normal is missing, no country → US; absent fields add nothing', () => {
    const lead = { id: 'L1', email: 'Ana@Example.COM', phone_1: { raw: '(415) 555-2671' }, phone_2: { normal: '11987654321', country_code: 'BR' }, phone_3: { valid: false } };
    const { identity } = mapped({ ...clone(fixtures['filter-continue']!), vars: { lead } });
    expect(personKeys(identity)).toEqual(['email:ana@example.com', 'phone:+14155552671', 'phone:+5511987654321']);
  });
});

describe('order of one lead\'s events at the same start_timestamp: LeadConduit\'s (by id)', () => {
  it('the index tiebreak sorts as LeadConduit\'s ids do, whatever leadlog\'s UUIDs', () => {
    const ids = ['6932ff00000000000000000a', '6932ff00000000000000000b', '6932ff00ffffffffffffffff', '6932ff01000000000000000c'];
    const keys = ids.map((lc) => timeTiebreak({ id: eventIdFor(ORG, 'leadconduit', lc), source: 'leadconduit', external_event_id: lc }));
    expect([...keys].sort()).toEqual(keys);
    for (const key of keys) expect(key).toMatch(/^[0-9a-f-]{36}$/);
    // Other events, and a LeadConduit id that is not a 24-hex ObjectId, keep the id as the tiebreak.
    expect(timeTiebreak({ id: 'a-uuid', source: 'stripe', external_event_id: ids[0] })).toBe('a-uuid');
    expect(timeTiebreak({ id: 'a-uuid', source: 'leadconduit', external_event_id: 'custom-id' })).toBe('a-uuid');
    // Upper-case hex (the schema allows it) sorts as its lower-case form.
    expect(timeTiebreak({ id: eventIdFor(ORG, 'leadconduit', 'ABC'), source: 'leadconduit', external_event_id: '6932FF00000000000000000A' }).slice(0, 24)).toBe(ids[0]);
  });
});
