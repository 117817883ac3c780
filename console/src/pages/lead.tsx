import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation, useRoute } from 'preact-iso';
import { api, ApiError, apiBytes, isAdmin, qs, type Lead, type LeadEvent, type Page, type UnmergeResult } from '../api.js';
import { Inspector, type Tab } from '../components/inspector.js';
import { ProofMark, ProofPanel } from '../components/proof-mark.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { TimeCell } from '../components/time.js';
import { VirtualList } from '../components/virtual-list.js';
import { familyOf, formatMs, formatTime, isRange, RANGES } from '../format.js';
import { isMasked } from '../json.js';
import { useLoad } from '../use-load.js';
import { waterfall } from '../waterfall.js';

const MAX_EVENTS = 10_000;
const ROW_HEIGHT = 34;

/**
 * Where an unmerge on this page stands, for the lead it was started on (`on`): asking to confirm, under way, done,
 * or refused. It outlives the lead's reload after success (the answer stays on screen while the lead reloads).
 */
type UnmergeState = { on: string; merged: string } & ({ step: 'confirm' } | { step: 'busy' } | { step: 'done'; result: UnmergeResult } | { step: 'error'; error: unknown });

/**
 * A lead's whole story: identities and merges, the timeline (every event of the lead and the leads merged into it,
 * in order, virtualized), filters by family, outcome and time, step durations as a waterfall, and the inspector
 * with each step's snapshot diff. Filters and the open event live in the URL, so a link reopens this exact view.
 */
export function LeadPage() {
  const { params } = useRoute();
  const { query, route, path } = useLocation();
  const leadId = params.id ?? '';
  const [lead, setLead] = useState<{ lead: Lead } | { error: unknown } | undefined>();
  const [timeline, setTimeline] = useState<{ events: LeadEvent[]; done: boolean; error?: unknown }>({ events: [], done: false });
  const [attempt, setAttempt] = useState(0);
  const admin = useLoad(() => isAdmin(), []).state;
  const [unmergeState, setUnmerge] = useState<UnmergeState | undefined>();
  const unmerge = unmergeState?.on === leadId ? unmergeState : undefined;
  const runUnmerge = async (merged: string) => {
    setUnmerge({ on: leadId, merged, step: 'busy' });
    try {
      const result = await api<UnmergeResult>(`/v1/leads/${encodeURIComponent(leadId)}/unmerge`, { method: 'POST', body: { lead_id: merged } });
      setUnmerge({ on: leadId, merged, step: 'done', result });
      setAttempt((a) => a + 1); // merged_from shrinks, the timeline loses the other family's events
    } catch (error) {
      setUnmerge({ on: leadId, merged, step: 'error', error });
    }
  };

  useEffect(() => {
    let live = true;
    setLead(undefined);
    setTimeline({ events: [], done: false });
    api<Lead>(`/v1/leads/${encodeURIComponent(leadId)}`).then((l) => live && setLead({ lead: l }), (error: unknown) => live && setLead({ error }));
    (async () => {
      let events: LeadEvent[] = [];
      let cursor: string | null = null;
      try {
        do {
          const page: Page<LeadEvent> = await api(`/v1/leads/${encodeURIComponent(leadId)}/events${qs({ order: 'asc', limit: 1000, include: 'lead_snapshot', cursor })}`);
          if (!live) return;
          events = events.concat(page.items);
          cursor = page.next_cursor;
          setTimeline({ events, done: cursor === null || events.length >= MAX_EVENTS });
        } while (cursor && events.length < MAX_EVENTS);
        document.body.dataset.timelineReady = String(performance.now());
      } catch (error) {
        if (live) setTimeline({ events, done: true, error });
      }
    })();
    return () => void (live = false);
  }, [leadId, attempt]);

  const setQuery = (changes: Record<string, string | undefined>) => route(`${path}${qs({ ...query, ...changes })}`, true);
  const family = query.family;
  const outcome = query.outcome;
  const range = isRange(query.range) ? query.range : undefined;
  const tab = (['payload', 'diff', 'snapshot', 'raw', 'details'].includes(query.tab ?? '') ? query.tab : 'diff') as Tab;

  const families = useMemo(() => [...new Set(timeline.events.map((e) => familyOf(e.event_type)))].sort(), [timeline.events]);
  const shown = useMemo(() => {
    const since = range ? Date.now() - RANGES[range].ms : undefined;
    return timeline.events.filter((e) => (!family || familyOf(e.event_type) === family) && (!outcome || e.outcome === outcome) && (since === undefined || Date.parse(e.occurred_at) >= since));
  }, [timeline.events, family, outcome, range]);
  const fall = useMemo(() => waterfall(shown), [shown]);
  const selectedIndex = shown.findIndex((e) => e.id === query.event);
  const selected = selectedIndex >= 0 ? shown[selectedIndex] : undefined;
  // The step before, in the whole timeline (not the filtered view), that carried a snapshot.
  const previous = useMemo(() => {
    if (!selected) return undefined;
    const at = timeline.events.indexOf(selected);
    for (let i = at - 1; i >= 0; i--) if (timeline.events[i]!.lead_snapshot) return timeline.events[i];
    return undefined;
  }, [selected, timeline.events]);

  if (lead && 'error' in lead) return <main id="main"><h1>Lead {leadId}</h1><ErrorState error={lead.error} retry={() => setAttempt((a) => a + 1)} /></main>;
  // The lead loaded for this id only: for one render after a navigation the state still holds the previous lead's.
  const l = lead && 'lead' in lead && lead.lead.lead_id === leadId ? lead.lead : undefined;
  return (
    <main id="main" class="lead-page">
      <header class="lead-head">
        <h1>Lead <code data-testid="lead-id">{leadId}</code></h1>
        {!l ? <Loading what="lead" /> : (
          <div class="lead-facts">
            {l.merged_into ? <p class="banner">Merged into <a href={`/console/leads/${encodeURIComponent(l.merged_into)}`}>{l.merged_into}</a>: that lead's page has the whole story.</p> : null}
            <ul class="identities" aria-label="Identities" data-testid="identities">
              {l.identities.length === 0 ? <li class="muted">No identities linked.</li> : l.identities.map((i) => (
                <li key={`${i.kind}:${i.value}`}><span class="tag">{i.kind}</span> <span class={isMasked(i.value) ? 'masked' : ''} title={isMasked(i.value) ? 'masked: this key lacks pii:read' : undefined}>{i.value}</span></li>
              ))}
            </ul>
            {l.merged_from.length ? (
              <p data-testid="merged-from">Merged from: {l.merged_from.map((m) => (
                <span key={m} class="chip">
                  <a href={`/console/leads/${encodeURIComponent(m)}`}>{m}</a>
                  {admin && 'value' in admin && admin.value ? (
                    <button type="button" class="small" aria-label={`Unmerge ${m}`} disabled={unmerge?.step === 'busy'}
                      onClick={() => setUnmerge({ on: leadId, merged: m, step: 'confirm' })}>Unmerge</button>
                  ) : null}
                </span>
              ))}</p>
            ) : null}
            {unmerge && (unmerge.step === 'confirm' || unmerge.step === 'busy') ? (
              <div class="confirm" role="group" aria-label={`Confirm unmerging ${unmerge.merged}`}
                onKeyDown={(e) => e.key === 'Escape' && unmerge.step === 'confirm' && setUnmerge(undefined)}>
                <p><strong>Unmerge <code>{unmerge.merged}</code> from this lead?</strong> This splits the two families: it becomes a live lead again with the identities it brought, and its events leave this timeline.</p>
                <button type="button" class="danger" data-testid="confirm-unmerge" autoFocus disabled={unmerge.step === 'busy'} onClick={() => runUnmerge(unmerge.merged)}>
                  {unmerge.step === 'busy' ? 'Unmerging…' : 'Yes, unmerge'}
                </button>{' '}
                <button type="button" disabled={unmerge.step === 'busy'} onClick={() => setUnmerge(undefined)}>Cancel</button>
              </div>
            ) : null}
            <p class="muted">First seen {l.first_seen_at ? formatTime(l.first_seen_at) : '—'} · last seen {l.last_seen_at ? formatTime(l.last_seen_at) : '—'}</p>
          </div>
        )}
        <Evidence leadId={leadId} />
        {unmerge?.step === 'done' ? <UnmergeDone result={unmerge.result} /> : null}
        {unmerge?.step === 'error' ? <div data-testid="unmerge-error"><ErrorState error={unmerge.error} /></div> : null}
      </header>

      <section class="filters" aria-label="Timeline filters">
        <label>Family <select value={family ?? ''} onChange={(e) => setQuery({ family: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="">all</option>{families.map((f) => <option key={f} value={f}>{f}</option>)}
        </select></label>
        <label>Outcome <select value={outcome ?? ''} onChange={(e) => setQuery({ outcome: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="">all</option><option value="success">success</option><option value="failure">failure</option><option value="error">error</option><option value="skip">skip</option>
        </select></label>
        <label>Time <select value={range ?? ''} onChange={(e) => setQuery({ range: (e.target as HTMLSelectElement).value || undefined })}>
          <option value="">all time</option>{Object.entries(RANGES).map(([k, r]) => <option key={k} value={k}>{r.label}</option>)}
        </select></label>
        <span class="muted" data-testid="timeline-count" aria-live="polite">
          {shown.length.toLocaleString()} of {timeline.events.length.toLocaleString()} events{timeline.done ? '' : ' (loading…)'}{timeline.events.length >= MAX_EVENTS ? ` (first ${MAX_EVENTS.toLocaleString()})` : ''}
        </span>
      </section>

      <div class="split">
        <section class="timeline" aria-label="Timeline">
          {timeline.error ? <ErrorState error={timeline.error} retry={() => setAttempt((a) => a + 1)} /> : null}
          {!timeline.done && timeline.events.length === 0 ? <Loading what="timeline" /> : null}
          {timeline.done && !timeline.error && shown.length === 0 ? <Empty title={timeline.events.length ? 'No event matches these filters' : 'No events on this lead'}>{timeline.events.length ? 'Clear a filter to see more.' : 'Events posted with this lead_id show up here.'}</Empty> : null}
          {shown.length > 0 ? (
            <>
              <div class="vrow head" aria-hidden="true"><span>occurred at (UTC)</span><span>type</span><span>outcome</span><span>source / step</span><span>duration</span><span class="wf" title="each step as long as its timing; steps that ran within one another (a LeadConduit source and its recipients) where they ran, the rest end to end">waterfall</span><span class="proof-cell" title="each event's proof of record, verified in this browser">proof</span></div>
              <VirtualList
                items={shown} rowHeight={ROW_HEIGHT} height={Math.min(560, Math.max(ROW_HEIGHT * 4, shown.length * ROW_HEIGHT))} label="Timeline events"
                keyOf={(e) => e.id} selected={selectedIndex >= 0 ? selectedIndex : undefined}
                onSelect={(i) => setQuery({ event: shown[i]!.id })}
                render={(e) => {
                  const [start, end] = fall.spans.get(e.id)!;
                  const left = (start / fall.total) * 100;
                  const width = ((end - start) / fall.total) * 100;
                  return [
                    <TimeCell key="t" iso={e.occurred_at} />,
                    <span key="y" class="type">{e.event_type}</span>,
                    <span key="o"><span class={`badge ${e.outcome ?? 'none'}`}>{e.outcome ?? '—'}</span></span>,
                    <span key="s" class="muted">{e.source}{e.step_id ? ` / ${e.step_id}` : ''}</span>,
                    <span key="d">{e.timing?.duration_ms !== undefined ? formatMs(e.timing.duration_ms) : ''}</span>,
                    <span key="w" class="wf" aria-hidden="true"><i class={width > 0 ? 'bar' : 'dot'} style={{ left: `${Math.min(99, left)}%`, width: width > 0 ? `max(2px, ${width}%)` : undefined }} /></span>,
                    <span key="p" class="proof-cell"><ProofMark event={e} /></span>,
                  ];
                }}
              />
            </>
          ) : null}
        </section>
        <aside class="side">
          {selected ? <><Inspector event={selected} previous={previous} tab={tab} onTab={(t) => setQuery({ tab: t })} /><ProofPanel key={selected.id} event={selected} /></>
            : <Empty title="Select an event">Click a row, or focus the list and use the arrow keys, to inspect a step and see what changed in the lead.</Empty>}
        </aside>
      </div>
    </main>
  );
}

/** What an unmerge did, with a link to the lead that is live again. */
function UnmergeDone({ result }: { result: UnmergeResult }) {
  const id = result.lead.lead_id;
  const link = <a href={`/console/leads/${encodeURIComponent(id)}`}>{id}</a>;
  return (
    <p role="status" class="banner ok" data-testid="unmerge-result">
      {result.changed ? <>Unmerged: {link} is a live lead again, with its own identities and timeline.</> : <>{link} was already unmerged: nothing changed.</>}
    </p>
  );
}

/**
 * "Download evidence": the lead's evidence bundle (`GET /v1/leads/{lead_id}/evidence`, events:read + pii:read), saved
 * byte for byte as `leadlog-evidence-<lead_id>.json` (never re-serialized: its records are exact texts that hashes
 * cover). The console does not know the key's pii:read, so the button is always there and a 403 says why.
 */
function Evidence({ leadId }: { leadId: string }) {
  const [state, setState] = useState<{ on: string } & ({ step: 'busy' } | { step: 'done'; bytes: number } | { step: 'error'; error: unknown })>();
  const here = state?.on === leadId ? state : undefined;
  const download = async () => {
    setState({ on: leadId, step: 'busy' });
    try {
      const { bytes } = await apiBytes(`/v1/leads/${encodeURIComponent(leadId)}/evidence`);
      const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/json' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = evidenceFileName(leadId);
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setState({ on: leadId, step: 'done', bytes: bytes.length });
    } catch (error) {
      setState({ on: leadId, step: 'error', error });
    }
  };
  const forbidden = here?.step === 'error' && here.error instanceof ApiError && here.error.status === 403;
  return (
    <div class="evidence">
      <button type="button" onClick={download} disabled={here?.step === 'busy'} data-testid="download-evidence">
        {here?.step === 'busy' ? 'Preparing evidence…' : 'Download evidence'}
      </button>
      <span class="muted"> the lead's events, raw bytes, proofs and signed checkpoints, checkable offline with <code>npm run verify</code></span>
      {here?.step === 'done' ? <p role="status" class="muted" data-testid="evidence-done">Saved {evidenceFileName(leadId)} ({here.bytes.toLocaleString()} bytes).</p> : null}
      {here?.step === 'error' ? (
        <div data-testid="evidence-error">
          {forbidden ? <p class="muted">The evidence bundle carries the events' raw bytes: it needs a key with <code>events:read</code> and <code>pii:read</code>.</p> : null}
          <ErrorState error={here.error} retry={download} />
        </div>
      ) : null}
    </div>
  );
}

/** The bundle's file name: the lead id kept to characters every file system takes. */
export function evidenceFileName(leadId: string): string {
  return `leadlog-evidence-${leadId.replace(/[^A-Za-z0-9._-]/g, '_')}.json`;
}
