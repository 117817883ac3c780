import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, qs, type LeadEvent, type Page } from '../api.js';
import { Inspector, type Tab } from '../components/inspector.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { TimeCell } from '../components/time.js';
import { VirtualList } from '../components/virtual-list.js';
import { isRange, RANGES } from '../format.js';

const ROW_HEIGHT = 34;
const TAIL_EVERY_MS = 3000;
/** `GET /v1/events` reads at most 31 days at a time (contract section 3). */
const MAX_RANGE_MS = 31 * 86_400_000;

/**
 * The range a view asks for: a preset relative to now, or custom from/to (ISO). A custom range longer than the API
 * reads at once (a report's drill-down over a quarter) keeps its last 31 days, and says so (`clamped`).
 */
function rangeOf(query: Record<string, string>): { from?: string; to?: string; clamped?: true } {
  if (isRange(query.range)) return { from: new Date(Date.now() - RANGES[query.range].ms).toISOString() };
  const fromMs = query.from ? Date.parse(query.from) : NaN;
  const toMs = query.to ? Date.parse(query.to) : NaN;
  if (!Number.isNaN(fromMs) && !Number.isNaN(toMs) && toMs - fromMs > MAX_RANGE_MS) {
    return { from: new Date(toMs - MAX_RANGE_MS).toISOString(), to: query.to, clamped: true };
  }
  return { ...(query.from ? { from: query.from } : {}), ...(query.to ? { to: query.to } : {}) };
}

/**
 * Filters the explorer accepts in its URL that `GET /v1/events` does not take (a report's drill-down by buyer, step
 * or reason): matched here, in the pages loaded so far, and shown as such.
 */
const LOCAL_FILTERS = ['entity_id', 'step_id', 'reason'] as const;

/**
 * The org's events by type, source, outcome and time, newest first, paged by cursor; "live" polls for new events
 * and keeps the reading position where it was. Every filter is in the URL.
 */
export function Explorer() {
  const { query, route, path } = useLocation();
  const [items, setItems] = useState<LeadEvent[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [state, setState] = useState<'loading' | 'more' | 'ready' | { error: unknown }>('loading');
  const [prepended, setPrepended] = useState(0);
  const seen = useRef(new Set<string>());
  const live = query.live === '1';
  const filters = { type: query.type, source: query.source, outcome: query.outcome, flow_id: query.flow_id };
  const local = LOCAL_FILTERS.flatMap((name) => (query[name] ? [[name, query[name]] as const] : []));
  const matches = (e: LeadEvent) => local.every(([name, value]) => e[name] === value);
  const key = JSON.stringify([filters, query.range, query.from, query.to]);
  // A preset's range is fixed when the filters change: the next pages' cursors are bound to exactly that query.
  const { clamped, ...range } = useMemo(() => rangeOf(query), [key]);

  useEffect(() => {
    let current = true;
    setState('loading');
    setItems([]);
    seen.current = new Set();
    api<Page<LeadEvent>>(`/v1/events${qs({ ...filters, ...range, order: 'desc', limit: 100 })}`).then((page) => {
      if (!current) return;
      page.items.forEach((e) => seen.current.add(e.id));
      setItems(page.items);
      setCursor(page.next_cursor);
      setState('ready');
    }, (error: unknown) => current && setState({ error }));
    return () => void (current = false);
  }, [key]);

  useEffect(() => {
    if (!live) return;
    const timer = setInterval(async () => {
      try {
        const { clamped: _, ...now } = rangeOf(query);
        const page = await api<Page<LeadEvent>>(`/v1/events${qs({ ...filters, ...now, order: 'desc', limit: 100 })}`);
        const fresh = page.items.filter((e) => !seen.current.has(e.id));
        if (fresh.length === 0) return;
        fresh.forEach((e) => seen.current.add(e.id));
        setItems((old) => [...fresh, ...old]);
        setPrepended((n) => n + fresh.filter(matches).length); // the rows the list shows above the reading position
      } catch {
        // the next tick tries again; the list stays as it is
      }
    }, TAIL_EVERY_MS);
    return () => clearInterval(timer);
  }, [live, key, JSON.stringify(local)]);

  const more = async () => {
    if (!cursor) return;
    setState('more');
    try {
      const page = await api<Page<LeadEvent>>(`/v1/events${qs({ ...filters, ...range, order: 'desc', limit: 100, cursor })}`);
      const fresh = page.items.filter((e) => !seen.current.has(e.id));
      fresh.forEach((e) => seen.current.add(e.id));
      setItems((old) => [...old, ...fresh]);
      setCursor(page.next_cursor);
      setState('ready');
    } catch (error) {
      setState({ error });
    }
  };

  const setQuery = (changes: Record<string, string | undefined>) => route(`${path}${qs({ ...query, ...changes })}`, true);
  const [draft, setDraft] = useState(filters);
  useEffect(() => setDraft(filters), [key]);
  const apply = (e: Event) => {
    e.preventDefault();
    setQuery({ type: draft.type?.trim() || undefined, source: draft.source?.trim() || undefined, outcome: draft.outcome || undefined, flow_id: draft.flow_id?.trim() || undefined, event: undefined });
  };
  const shown = local.length ? items.filter(matches) : items;
  const selectedIndex = shown.findIndex((e) => e.id === query.event);
  const selected = selectedIndex >= 0 ? shown[selectedIndex] : undefined;
  const tab = (['payload', 'diff', 'snapshot', 'raw', 'details'].includes(query.tab ?? '') ? query.tab : 'payload') as Tab;
  const custom = !isRange(query.range) && (query.from || query.to || query.range === 'custom');

  return (
    <main id="main">
      <h1>Events</h1>
      <form class="filters" onSubmit={apply} aria-label="Event filters">
        <label>Type <input name="type" placeholder="purchase_completed, source.*" value={draft.type ?? ''} onInput={(e) => setDraft({ ...draft, type: (e.target as HTMLInputElement).value })} /></label>
        <label>Source <input name="source" placeholder="stripe" value={draft.source ?? ''} onInput={(e) => setDraft({ ...draft, source: (e.target as HTMLInputElement).value })} /></label>
        <label>Flow <input name="flow_id" placeholder="flow id" value={draft.flow_id ?? ''} onInput={(e) => setDraft({ ...draft, flow_id: (e.target as HTMLInputElement).value })} /></label>
        <label>Outcome <select value={draft.outcome ?? ''} onChange={(e) => setDraft({ ...draft, outcome: (e.target as HTMLSelectElement).value })}>
          <option value="">all</option><option value="success">success</option><option value="failure">failure</option><option value="error">error</option><option value="skip">skip</option>
        </select></label>
        <button type="submit">Apply</button>
        <fieldset class="presets"><legend class="sr-only">Time</legend>
          {Object.entries(RANGES).map(([k, r]) => <button key={k} type="button" aria-pressed={query.range === k} onClick={() => setQuery({ range: k, from: undefined, to: undefined })}>{r.label}</button>)}
          <button type="button" aria-pressed={Boolean(custom)} onClick={() => setQuery({ range: 'custom' })}>Custom</button>
        </fieldset>
        {custom ? (
          <span class="custom-range">
            <label>From <input type="datetime-local" step="1" value={query.from ? query.from.slice(0, 19) : ''} onChange={(e) => setQuery({ from: toIso((e.target as HTMLInputElement).value) })} /></label>
            <label>To <input type="datetime-local" step="1" value={query.to ? query.to.slice(0, 19) : ''} onChange={(e) => setQuery({ to: toIso((e.target as HTMLInputElement).value) })} /></label>
            <span class="muted">UTC</span>
          </span>
        ) : null}
        {local.length ? (
          <span class="chips" data-testid="local-filters">
            {local.map(([name, value]) => (
              <span key={name} class="chip">{name} = <code>{value}</code> <button type="button" class="small" aria-label={`Clear ${name}`} onClick={() => setQuery({ [name]: undefined, event: undefined })}>×</button></span>
            ))}
            <span class="muted">matched in the events loaded so far</span>
          </span>
        ) : null}
        <label class="live"><input type="checkbox" checked={live} onChange={(e) => setQuery({ live: (e.target as HTMLInputElement).checked ? '1' : undefined })} /> Live tail</label>
      </form>
      {clamped ? <p class="banner" data-testid="range-clamped">The events list reads at most 31 days at a time: showing the last 31 days of the range.</p> : null}
      <div class="split">
        <section aria-label="Events" class="explorer">
          {state === 'loading' ? <Loading what="events" /> : null}
          {typeof state === 'object' ? <ErrorState error={state.error} retry={() => setQuery({})} /> : null}
          {state !== 'loading' && typeof state !== 'object' && shown.length === 0 && items.length > 0 ? <Empty title="None of the loaded events match">{cursor ? 'Load older events to look further.' : 'No event in the range matches.'}</Empty> : null}
          {cursor && shown.length === 0 && items.length > 0 ? <button type="button" onClick={more} disabled={state === 'more'}>{state === 'more' ? 'Loading…' : 'Load older events'}</button> : null}
          {state !== 'loading' && typeof state !== 'object' && items.length === 0 ? <Empty title="No events match">The default range is the last 31 days; widen it or clear a filter.</Empty> : null}
          {shown.length > 0 ? (
            <>
              <p class="muted" data-testid="explorer-count" aria-live="polite">{shown.length.toLocaleString()} events{local.length ? ` of ${items.length.toLocaleString()} loaded` : ''}{live ? ' · live' : ''}</p>
              <div class="vrow head" aria-hidden="true"><span>occurred at (UTC)</span><span>type</span><span>outcome</span><span>source</span><span>lead</span></div>
              <VirtualList
                items={shown} rowHeight={ROW_HEIGHT} height={Math.min(560, Math.max(ROW_HEIGHT * 4, shown.length * ROW_HEIGHT))} label="Events"
                keyOf={(e) => e.id} selected={selectedIndex >= 0 ? selectedIndex : undefined} prepended={prepended}
                onSelect={(i) => setQuery({ event: shown[i]!.id })}
                render={(e) => [
                  <TimeCell key="t" iso={e.occurred_at} />,
                  <span key="y" class="type">{e.event_type}</span>,
                  <span key="o"><span class={`badge ${e.outcome ?? 'none'}`}>{e.outcome ?? '—'}</span></span>,
                  <span key="s" class="muted">{e.source}</span>,
                  <span key="l"><a href={`/console/leads/${encodeURIComponent(e.lead_id)}`} onClick={(ev) => ev.stopPropagation()}>{e.lead_id}</a></span>,
                ]}
              />
              {cursor ? <button type="button" onClick={more} disabled={state === 'more'}>{state === 'more' ? 'Loading…' : 'Load older events'}</button> : <p class="muted">That is every event in the range.</p>}
            </>
          ) : null}
        </section>
        <aside class="side">
          {selected ? <Inspector event={selected} previous={null} tab={tab} onTab={(t) => setQuery({ tab: t })} /> : <Empty title="Select an event">Its payload, raw bytes and a curl line to fetch it.</Empty>}
        </aside>
      </div>
    </main>
  );
}

function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(`${local.length === 16 ? `${local}:00` : local}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
