import { useEffect, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, ApiError, qs } from '../api.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { formatTime, RANGES, type RangeKey } from '../format.js';
import { useLoad } from '../use-load.js';

interface ExportJob { id: string; status: string; format: string; rows: number; bytes: number; url?: string; url_expires_at?: string; error?: string; progress?: { parts_done: number; parts: number }; requested_at: string }
interface Schedule { id: string; name: string; every: 'day' | 'week'; format: string; filter: Record<string, unknown>; next_run_at: string }

const FORMATS = ['csv', 'jsonl', 'parquet'] as const;

/**
 * Exports (section 10): start one (format, time range, filters), follow it until its file is ready and download
 * it; the org's daily and weekly schedules. `?id=` reopens an export's status.
 */
export function Exports() {
  const { query, route, path } = useLocation();
  const [form, setForm] = useState({ format: 'csv', range: '24h' as RangeKey, type: '', source: '', outcome: '', lead_id: '' });
  const [error, setError] = useState<unknown>();
  const start = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    const filter = Object.fromEntries(Object.entries({
      from: new Date(Date.now() - RANGES[form.range].ms).toISOString(), to: new Date().toISOString(),
      type: form.type.trim(), source: form.source.trim(), outcome: form.outcome, lead_id: form.lead_id.trim(),
    }).filter(([, v]) => v));
    try {
      const job = await api<ExportJob>('/v1/exports', { method: 'POST', body: { format: form.format, filter } });
      route(`${path}${qs({ id: job.id })}`);
    } catch (err) {
      setError(err);
    }
  };
  const field = (name: keyof typeof form) => (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value });
  return (
    <main id="main">
      <h1>Exports</h1>
      <p class="muted">Exactly the org's matching events, each once, masked as for a key without pii:read, from the archive. A file is kept a day; its link is valid an hour.</p>
      <form class="filters" onSubmit={start} aria-label="New export">
        <label>Format <select value={form.format} onChange={field('format')}>{FORMATS.map((f) => <option key={f} value={f}>{f}</option>)}</select></label>
        <label>Time <select value={form.range} onChange={field('range')}>{Object.entries(RANGES).map(([k, r]) => <option key={k} value={k}>{r.label}</option>)}</select></label>
        <label>Type <input value={form.type} placeholder="purchase_completed, source.*" onInput={field('type')} /></label>
        <label>Source <input value={form.source} placeholder="stripe" onInput={field('source')} /></label>
        <label>Outcome <select value={form.outcome} onChange={field('outcome')}><option value="">all</option><option>success</option><option>failure</option><option>error</option></select></label>
        <label>Lead <input value={form.lead_id} placeholder="lead id" onInput={field('lead_id')} /></label>
        <button type="submit">Export</button>
      </form>
      {error ? <ErrorState error={error} /> : null}
      {query.id ? <ExportStatus id={query.id} /> : null}
      <Schedules />
    </main>
  );
}

function ExportStatus({ id }: { id: string }) {
  const [job, setJob] = useState<ExportJob | undefined>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const next = await api<ExportJob>(`/v1/exports/${encodeURIComponent(id)}`);
        if (!live) return;
        setJob(next);
        if (next.status === 'queued' || next.status === 'running') timer = setTimeout(poll, 1000);
      } catch (err) {
        if (live) setError(err);
      }
    };
    void poll();
    return () => {
      live = false;
      if (timer) clearTimeout(timer);
    };
  }, [id]);
  if (error) return <ErrorState error={error} />;
  if (!job) return <Loading what="the export" />;
  return (
    <section class="inspector" aria-label="Export" data-testid="export-status">
      <header><h3>Export <code>{job.id}</code></h3><span class={`badge ${job.status === 'succeeded' ? 'success' : job.status === 'failed' ? 'error' : 'none'}`}>{job.status}</span></header>
      <p role="status">
        {job.rows.toLocaleString()} row{job.rows === 1 ? "" : "s"}{job.progress ? `, ${job.progress.parts_done} of ${job.progress.parts} days written` : ''}
        {job.status === 'succeeded' ? `, ${job.bytes.toLocaleString()} bytes` : ''}
      </p>
      {job.url ? <p><a href={job.url} download data-testid="export-download">Download {job.format.toUpperCase()}</a> <span class="muted">(link valid until {formatTime(job.url_expires_at!)} UTC)</span></p> : null}
      {job.error ? <p class="bad">{job.error}</p> : null}
      {job.status === 'erased' ? <p class="muted" data-testid="export-erased">The file held rows of a lead that was erased since, so it was deleted and can no longer be downloaded.</p> : null}
    </section>
  );
}

function Schedules() {
  const { state, retry } = useLoad(() => api<{ items: Schedule[] }>('/v1/exports/schedules'), []);
  const [form, setForm] = useState({ name: '', every: 'day', format: 'csv', type: '' });
  const [error, setError] = useState<unknown>();
  const create = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      await api('/v1/exports/schedules', { method: 'POST', body: { name: form.name, every: form.every, format: form.format, ...(form.type.trim() ? { filter: { type: form.type.trim() } } : {}) } });
      setForm({ ...form, name: '', type: '' });
      retry();
    } catch (err) {
      setError(err);
    }
  };
  const remove = async (id: string) => {
    try {
      await api(`/v1/exports/schedules/${encodeURIComponent(id)}`, { method: 'DELETE' });
      retry();
    } catch (err) {
      setError(err instanceof ApiError ? err : new Error(String(err)));
    }
  };
  return (
    <section aria-label="Scheduled exports">
      <h2>Schedules</h2>
      <p class="muted">Each run exports the UTC day or ISO week just ended and puts <code>Export Ready</code> on the bus.</p>
      <form class="filters" onSubmit={create} aria-label="New schedule">
        <label>Name <input required value={form.name} onInput={(e) => setForm({ ...form, name: (e.target as HTMLInputElement).value })} /></label>
        <label>Every <select value={form.every} onChange={(e) => setForm({ ...form, every: (e.target as HTMLSelectElement).value })}><option value="day">day</option><option value="week">week</option></select></label>
        <label>Format <select value={form.format} onChange={(e) => setForm({ ...form, format: (e.target as HTMLSelectElement).value })}>{FORMATS.map((f) => <option key={f}>{f}</option>)}</select></label>
        <label>Type <input value={form.type} placeholder="any" onInput={(e) => setForm({ ...form, type: (e.target as HTMLInputElement).value })} /></label>
        <button type="submit">Add schedule</button>
      </form>
      {error ? <ErrorState error={error} /> : null}
      {!state || 'loading' in state ? <Loading what="schedules" /> : null}
      {state && 'error' in state ? <ErrorState error={state.error} retry={retry} /> : null}
      {state && 'value' in state ? (state.value.items.length === 0 ? <Empty title="No scheduled export">Add one above.</Empty> : (
        <table class="grid" data-testid="schedules">
          <thead><tr><th>name</th><th>every</th><th>format</th><th>filter</th><th>next run (UTC)</th><th /></tr></thead>
          <tbody>
            {state.value.items.map((s) => (
              <tr key={s.id}>
                <td>{s.name}</td><td>{s.every}</td><td>{s.format}</td><td><code>{JSON.stringify(s.filter)}</code></td><td>{formatTime(s.next_run_at)}</td>
                <td><button type="button" onClick={() => remove(s.id)} aria-label={`Delete schedule ${s.name}`}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )) : null}
    </section>
  );
}
