/**
 * A lead's story for the console's browser tests and screenshots: a buyer seen on the web, run through a
 * LeadConduit-style flow (intake, a filter, an enhancement that changes the snapshot, a failed then a successful
 * delivery), then a purchase; and, for scale, a lead with `count` steps. Posted through the real API.
 */
export interface SeedOptions {
  url: string;
  key: string;
}

const HOUR = 3_600_000;
/** An 18-digit id as Shopify sends it: past 2^53, so it is written into the JSON text, never through a JS number. */
const BIG_ORDER_ID = '__big_order_id__';
const BIG_ORDER_DIGITS = '828758318460506337';

async function post(options: SeedOptions, events: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < events.length; i += 100) {
    const response = await fetch(`${options.url}/v1/events/batch`, {
      method: 'POST', headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events: events.slice(i, i + 100) }).replaceAll(`"${BIG_ORDER_ID}"`, BIG_ORDER_DIGITS),
    });
    const body = (await response.json()) as { results: { status: string; problem?: unknown }[] };
    const bad = body.results.find((r) => r.status !== 'created' && r.status !== 'duplicate');
    if (response.status !== 200 || bad) throw new Error(`seed refused: ${response.status} ${JSON.stringify(bad)}`);
  }
}

export async function seedStory(options: SeedOptions, leadId = 'lead_ana'): Promise<void> {
  const t0 = Date.now() - 2 * HOUR;
  const at = (minutes: number) => new Date(t0 + minutes * 60_000).toISOString();
  const snapshot = { email: 'ana.souza@example.com', first_name: 'Ana', phone: '+5511987654321', state: 'SP', score: 40 };
  const step = (minutes: number, event_type: string, extra: Record<string, unknown>) => ({
    lead_id: leadId, source_type: 'internal', source: 'leadconduit', event_type, flow_id: 'flow_br_courses', external_event_id: `${leadId}_${event_type}_${minutes}`,
    occurred_at: at(minutes), payload: {}, ...extra,
  });
  await post(options, [
    {
      lead_id: leadId, source_type: 'direct', source: 'web', event_type: 'product_viewed', external_event_id: `${leadId}_view`, occurred_at: at(0),
      payload: { product_id: 'course_42', product_name: 'Data course', category: 'education' },
      identity: { email: 'Ana.Souza@example.com', phone: '+55 11 98765-4321' },
    },
    step(1, 'source.submitted', { step_id: 'intake', lead_snapshot: snapshot, timing: { duration_ms: 180, wait_ms: 20 } }),
    step(2, 'filter.passed', { step_id: 'dedupe', lead_snapshot: snapshot, timing: { duration_ms: 45 }, payload: { rules_evaluated: 3 } }),
    step(3, 'enhancement.success', {
      step_id: 'enrich', timing: { duration_ms: 820 }, payload: { integration: 'clearbit' },
      raw_payload: { company: { name: 'Acme Ltda', domain: 'acme.com.br' }, person: { email: 'ana.souza@example.com' }, score: 72 },
      lead_snapshot: { ...snapshot, score: 72, company: 'Acme Ltda', state: undefined },
    }),
    step(4, 'recipient.failed', {
      step_id: 'crm', outcome: 'failure', reason: 'CRM answered 503', timing: { duration_ms: 2400 }, payload: { http_status: 503, integration: 'hubspot' },
      lead_snapshot: { ...snapshot, score: 72, company: 'Acme Ltda', state: undefined },
    }),
    step(5, 'retry.attempted', { step_id: 'crm', timing: { duration_ms: 610 }, payload: { integration: 'hubspot' }, lead_snapshot: { ...snapshot, score: 72, company: 'Acme Ltda', state: undefined, crm_id: 'hs_9001' } }),
    step(6, 'recipient.delivered', {
      step_id: 'crm', timing: { duration_ms: 540 }, payload: { http_status: 201, integration: 'hubspot', price: 12.5, currency: 'BRL' },
      lead_snapshot: { ...snapshot, score: 72, company: 'Acme Ltda', state: undefined, crm_id: 'hs_9001' },
    }),
    {
      lead_id: leadId, source_type: 'direct', source: 'web', event_type: 'purchase_completed', external_event_id: `${leadId}_order`, occurred_at: at(50),
      payload: { product_id: 'course_42', product_name: 'Data course', category: 'education', amount: 497, currency: 'BRL', payment_method: 'pix', order_id: BIG_ORDER_ID },
    },
  ].map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>));
}

/** A lead with `count` processing steps, a minute apart, each with a snapshot and a duration. */
export async function seedLongTimeline(options: SeedOptions, leadId: string, count: number): Promise<void> {
  const t0 = Date.now() - count * 60_000 - HOUR;
  const types = ['source.submitted', 'filter.passed', 'enhancement.success', 'recipient.delivered', 'feedback.received'];
  await post(options, Array.from({ length: count }, (_, i) => ({
    lead_id: leadId, source_type: 'internal', source: 'leadconduit', event_type: types[i % types.length], external_event_id: `${leadId}_${i}`,
    occurred_at: new Date(t0 + i * 60_000).toISOString(), step_id: `step_${i % 7}`, timing: { duration_ms: 50 + (i % 13) * 40 },
    payload: { integration: 'bench' }, lead_snapshot: { step: i, score: i % 100, email: 'long@example.com' },
  })));
}

/**
 * Two leads merged through the real API, as a lead form and a later purchase would: `first` posts an e-mail, then
 * `second` posts the same e-mail with a phone, so `second` is merged into `first` (the lead seen first survives).
 * Each lead gets one event; the merge is checked, so a test never starts from leads that were not merged.
 */
export async function seedMerge(options: SeedOptions, first: string, second: string, email: string, phone: string): Promise<void> {
  const send = async (leadId: string, identity: Record<string, string>) => {
    const response = await fetch(`${options.url}/v1/events`, {
      method: 'POST', headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ lead_id: leadId, source_type: 'direct', source: 'web', event_type: 'custom.seen', external_event_id: `${leadId}_seen`, payload: {}, identity }),
    });
    if (response.status !== 201 && response.status !== 200) throw new Error(`seed refused: ${response.status} ${await response.text()}`);
  };
  await send(first, { email });
  await send(second, { email, phone });
  const lead = (await (await fetch(`${options.url}/v1/leads/${encodeURIComponent(second)}`, { headers: { authorization: `Bearer ${options.key}` } })).json()) as { merged_into?: string };
  if (lead.merged_into !== first) throw new Error(`seed: ${second} was not merged into ${first}: ${JSON.stringify(lead)}`);
}
