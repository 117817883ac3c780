import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, qs, type Lead } from '../api.js';
import { formatTime } from '../format.js';
import { isMasked } from '../json.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { classify } from '../search-terms.js';
import { useLoad } from '../use-load.js';

/** Lead search (the home page): by lead id, e-mail, phone or provider ref; `?q=` reopens it. */
export function Search() {
  const { query, route } = useLocation();
  const q = query.q ?? '';
  const [term, setTerm] = useState(q);
  useEffect(() => setTerm(q), [q]);
  const { state } = useLoad(q ? () => {
    const { by, value } = classify(q);
    return by === 'lead'
      ? api<Lead>(`/v1/leads/${encodeURIComponent(value)}`).then((lead) => [lead])
      : api<{ items: Lead[] }>(`/v1/leads${qs({ [by]: value })}`).then((r) => r.items);
  } : undefined, [q]);
  const submit = (e: Event) => {
    e.preventDefault();
    route(`/console/${qs({ q: term.trim() })}`);
  };
  const kind = term.trim() ? classify(term).by : undefined;
  return (
    <main id="main">
      <h1>Find a lead</h1>
      <form class="search" onSubmit={submit} role="search">
        <label for="q" class="sr-only">Lead id, e-mail, phone or provider ref</label>
        <input id="q" name="q" type="search" placeholder="lead id, ana@example.com, +5511987654321, stripe:cus_123" value={term} onInput={(e) => setTerm((e.target as HTMLInputElement).value)} autoFocus />
        <button type="submit">Search</button>
      </form>
      {kind ? <p class="muted">Searching by {kind === 'lead' ? 'lead id' : kind === 'ref' ? 'provider ref' : kind}.</p> : null}
      {state === undefined ? <Empty title="Search by lead id, e-mail, phone number or provider ref">Phone numbers match in E.164 (+5511…); e-mails ignore case.</Empty> : null}
      {state && 'loading' in state ? <Loading what="leads" /> : null}
      {state && 'error' in state ? <ErrorState error={state.error} /> : null}
      {state && 'value' in state ? (
        state.value.length === 0 ? <Empty title="No lead has that identity">Nothing in this org claims it (or it was erased).</Empty> : (
          <ul class="cards" data-testid="search-results">
            {state.value.map((lead) => (
              <li key={lead.lead_id}>
                <a href={`/console/leads/${encodeURIComponent(lead.lead_id)}`}><strong>{lead.lead_id}</strong></a>
                <span class="muted"> first seen {lead.first_seen_at ? formatTime(lead.first_seen_at) : '—'}</span>
                <ul class="identities">{lead.identities.map((i) => <li key={i.value}><span class="tag">{i.kind}</span> <span class={isMasked(i.value) ? 'masked' : ''}>{i.value}</span></li>)}</ul>
              </li>
            ))}
          </ul>
        )
      ) : null}
    </main>
  );
}
