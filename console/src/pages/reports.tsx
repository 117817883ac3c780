import { useEffect, useMemo, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { apiAnswer, qs } from '../api.js';
import { ReportChart, type Target } from '../components/report-chart.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import {
  chartOf, csvFileName, drillDown, fetchReport, FILTERS, formatCell, gridOf, groupsOf, intervalsOf, measuresOf, reportDefinition, OUTCOMES, rangeOf, REPORT_NAMES, REPORT_RANGES,
  REPORT_TITLES, reportPath, toCsv, urlQuery, viewOf, type ReportBody, type ReportView,
} from '../reports.js';

type State = { loading: true } | { running: { id: string; since: number } } | { error: unknown } | { report: ReportBody };

/**
 * Reports (contract section 13): one of the eight reports over a time range with the filters and grouping of
 * `GET /v1/reports/{name}`, as a chart and a table; a bar, point or row drills down to the event explorer with the
 * same filters; the table downloads as CSV. All of the view is in the URL (`viewOf`/`urlQuery`), so a link reopens
 * it. A report that outlasts the API's time limit answers 202: the run is polled, visibly, until it is done.
 */
export function Reports() {
  const { query, route, path } = useLocation();
  const view = viewOf(query);
  const key = JSON.stringify(urlQuery(view));
  // A preset's range is fixed when the view changes (and on "Refresh"), not on every render.
  const [attempt, setAttempt] = useState(0);
  const range = useMemo(() => rangeOf(view, Date.now()), [key, attempt]);
  const [state, setState] = useState<State>({ loading: true });
  const [, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    setState({ loading: true });
    const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
    fetchReport(apiAnswer, reportPath(view, range), window.location.origin, {
      running: (id) => live && setState((old) => ('running' in old && old.running.id === id ? old : { running: { id, since: Date.now() } })),
      sleep, stopped: () => !live,
    }).then((report) => live && setState({ report }), (error: unknown) => live && setState({ error }));
    return () => void (live = false);
  }, [key, range]);

  // The running state's clock.
  useEffect(() => {
    if (!('running' in state)) return;
    const timer = setInterval(() => setTick((t) => t + 1), 1000);
    return () => clearInterval(timer);
  }, ['running' in state]);

  const go = (next: ReportView) => route(`${path}${qs(urlQuery(next))}`);
  const [draft, setDraft] = useState(view.filters);
  useEffect(() => setDraft(view.filters), [key]);
  const apply = (e: Event) => {
    e.preventDefault();
    const filters = Object.fromEntries(Object.entries(draft).map(([k, v]) => [k, v?.trim()]).filter(([, v]) => v));
    go({ ...view, filters });
  };
  const setFilter = (name: string) => (e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value });
  const info = REPORT_TITLES[view.report];

  return (
    <main id="main" class="reports">
      <h1>Reports</h1>
      <form class="filters" onSubmit={apply} aria-label="Report">
        <label>Report <select name="report" value={view.report} onChange={(e) => go({ ...view, report: (e.target as HTMLSelectElement).value as ReportView['report'], measure: undefined })}>
          {REPORT_NAMES.map((n) => <option key={n} value={n}>{REPORT_TITLES[n].title}</option>)}
        </select></label>
        {groupsOf(view.report).length ? <label>Group by <select name="group_by" value={view.group_by ?? ''} onChange={(e) => go({ ...view, group_by: ((e.target as HTMLSelectElement).value || undefined) as ReportView['group_by'], measure: undefined })}>
          <option value="">{reportDefinition(view.report)?.defaultGroup ? `report's default (${reportDefinition(view.report)!.defaultGroup})` : 'none: one row'}</option>
          {groupsOf(view.report).map((g) => <option key={g} value={g}>{g}</option>)}
        </select></label> : null}
        {intervalsOf(view.report).length ? (
          <label>Interval <select name="interval" value={view.interval ?? ''} onChange={(e) => go({ ...view, interval: ((e.target as HTMLSelectElement).value || undefined) as ReportView['interval'] })}>
            <option value="">default</option>
            {intervalsOf(view.report).map((i) => <option key={i} value={i}>{i}</option>)}
          </select></label>
        ) : null}
        <fieldset class="presets"><legend class="sr-only">Time range</legend>
          {Object.entries(REPORT_RANGES).map(([k, r]) => <button key={k} type="button" aria-pressed={view.range === k} onClick={() => go({ ...view, range: k as keyof typeof REPORT_RANGES, from: undefined, to: undefined })}>{r.label}</button>)}
          <button type="button" aria-pressed={view.range === 'custom'} onClick={() => go({ ...view, range: 'custom', from: range.from, to: range.to })}>Custom</button>
        </fieldset>
        {view.range === 'custom' ? (
          <span class="custom-range">
            <label>From <input type="datetime-local" step="1" name="from" value={range.from.slice(0, 19)} onChange={(e) => go({ ...view, from: toIso((e.target as HTMLInputElement).value) })} /></label>
            <label>To <input type="datetime-local" step="1" name="to" value={range.to.slice(0, 19)} onChange={(e) => go({ ...view, to: toIso((e.target as HTMLInputElement).value) })} /></label>
            <span class="muted">UTC, to exclusive</span>
          </span>
        ) : null}
      </form>
      <form class="filters" onSubmit={apply} aria-label="Report filters">
        {FILTERS.filter((f) => f !== 'outcome').map((f) => (
          <label key={f}>{f === 'type' ? 'Type' : f} <input name={f} value={draft[f] ?? ''} placeholder={f === 'type' ? 'source.*' : ''} onInput={setFilter(f)} /></label>
        ))}
        <label>Outcome <select name="outcome" value={draft.outcome ?? ''} onChange={setFilter('outcome')}>
          <option value="">all</option>{OUTCOMES.map((o) => <option key={o} value={o}>{o}</option>)}
        </select></label>
        <button type="submit">Apply</button>
      </form>
      <p class="muted">{info.about} <span data-testid="report-range">{formatRange(range)}</span></p>
      {'loading' in state ? <Loading what="the report" /> : null}
      {'running' in state ? (
        <div class="state" role="status" aria-live="polite" data-testid="report-running">
          <span class="spinner" aria-hidden="true" /> The report takes longer than a request may: it keeps running as <code>{state.running.id}</code>, and
          appears here when done ({Math.max(0, Math.round((Date.now() - state.running.since) / 1000))} s so far).
        </div>
      ) : null}
      {'error' in state ? <ErrorState error={state.error} retry={() => setAttempt((a) => a + 1)} /> : null}
      {'report' in state ? <Report view={view} body={state.report} go={go} refresh={() => setAttempt((a) => a + 1)} /> : null}
    </main>
  );
}

function Report({ view, body, go, refresh }: { view: ReportView; body: ReportBody; go: (v: ReportView) => void; refresh: () => void }) {
  const { route } = useLocation();
  const chart = useMemo(() => chartOf(body, view.measure), [body, view.measure]);
  const grid = useMemo(() => gridOf(body), [body]);
  const measures = measuresOf(body);
  const csv = useMemo(() => URL.createObjectURL(new Blob([toCsv(body)], { type: 'text/csv;charset=utf-8' })), [body]);
  useEffect(() => () => URL.revokeObjectURL(csv), [csv]);
  const title = REPORT_TITLES[view.report].title;
  const measureColumn = body.columns.find((c) => c.name === (chart.kind === 'none' ? '' : chart.measure));
  const format = (n: number) => (measureColumn ? formatCell(measureColumn, n) : String(n));
  const drill = (t: Target) => route(drillDown(view, body, t.row, t.outcome && chart.kind === 'stacked' ? { outcome: t.outcome, only: [chart.timeColumn] } : {}));
  return (
    <section aria-label={title} data-testid="report" data-report={body.name}>
      <header class="report-head">
        <h2>{title}</h2>
        {measures.length > 1 ? (
          <label>Chart <select name="measure" value={chart.kind === 'none' ? '' : chart.measure} onChange={(e) => go({ ...view, measure: (e.target as HTMLSelectElement).value })}>
            {measures.map((m) => <option key={m} value={m}>{m}</option>)}
          </select></label>
        ) : null}
        <a class="button" href={csv} download={csvFileName(body)} data-testid="report-csv">Download CSV</a>
        <button type="button" onClick={refresh}>Refresh</button>
      </header>
      {body.rows.length === 0 ? <Empty title="No events match">Widen the range or clear a filter.</Empty> : (
        <>
          <ReportChart chart={chart} title={title} onDrill={drill} format={format} />
          <p class="muted">Select a bar (or press Enter on it) or a row's link to see its events in the explorer. Generated {formatCell({ name: 'at', type: 'timestamp' }, body.generated_at)} UTC.</p>
          <div class="table-scroll">
            <table class="grid report-table" data-testid="report-table">
              <caption class="sr-only">{title}, {formatRange(body)}</caption>
              <thead><tr>{body.columns.map((c) => <th key={c.name} scope="col">{c.name}</th>)}<th scope="col"><span class="sr-only">Events</span></th></tr></thead>
              <tbody>
                {grid.map((cells, row) => (
                  <tr key={row} data-row={row}>
                    {body.columns.map((c, i) => <td key={c.name} class={typeof cells[i] === 'number' ? 'num' : undefined}>{formatCell(c, cells[i])}</td>)}
                    <td><a href={drillDown(view, body, row)} data-testid="drill">Events</a></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

function formatRange(range: { from: string; to: string }): string {
  const t = (iso: string) => iso.replace('T', ' ').slice(0, 16);
  return `${t(range.from)} – ${t(range.to)} UTC`;
}

function toIso(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(`${local.length === 16 ? `${local}:00` : local}Z`);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
