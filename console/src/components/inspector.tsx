import { useEffect, useState } from 'preact/hooks';
import { ApiError, apiBytes, type LeadEvent } from '../api.js';
import { diffSnapshots } from '../diff.js';
import { formatMs, formatTime } from '../format.js';
import { JsonView, Value } from './json-view.js';
import { ErrorState, Loading } from './states.js';

type Tab = 'payload' | 'diff' | 'snapshot' | 'raw' | 'details';

/** The curl line that fetches this event: the key is read from $LEADLOG_KEY, never written into the text. */
export function curlFor(eventId: string): string {
  return `curl -si "${location.origin}/v1/events/${encodeURIComponent(eventId)}" -H "Authorization: Bearer $LEADLOG_KEY"`;
}

/**
 * One event: payload, the lead snapshot's diff against the step before, the snapshot, the exact raw bytes
 * (pii:read) and the envelope; "copy as curl" gives the same read for a terminal.
 */
/** `previous`: the step before with a snapshot; undefined when there is none; null when unknown here (the explorer). */
export function Inspector({ event, previous, tab, onTab }: { event: LeadEvent; previous: LeadEvent | undefined | null; tab: Tab; onTab: (tab: Tab) => void }) {
  const tabs: [Tab, string][] = [['payload', 'Payload'], ['diff', 'Snapshot diff'], ['snapshot', 'Snapshot'], ['raw', 'Raw bytes'], ['details', 'Details']];
  const [copied, setCopied] = useState<string | undefined>();
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(curlFor(event.id));
      setCopied('Copied. Set LEADLOG_KEY in your shell first.');
    } catch {
      setCopied(curlFor(event.id));
    }
  };
  return (
    <section class="inspector" aria-label="Event inspector">
      <header>
        <h3>{event.event_type}</h3>
        <span class={`badge ${event.outcome ?? 'none'}`}>{event.outcome ?? '—'}</span>
        <button type="button" onClick={copy} data-testid="copy-curl">Copy as curl</button>
      </header>
      {copied ? <p class="note" role="status"><code>{copied}</code></p> : null}
      <div role="tablist" class="tabs">
        {tabs.map(([id, label]) => (
          <button key={id} type="button" role="tab" aria-selected={tab === id} class={tab === id ? 'active' : ''} onClick={() => onTab(id)}>{label}</button>
        ))}
      </div>
      <div role="tabpanel" class="panel">
        {tab === 'payload' ? <JsonView value={event.payload} label="payload" /> : null}
        {tab === 'diff' ? <SnapshotDiff event={event} previous={previous} /> : null}
        {tab === 'snapshot' ? <JsonView value={event.lead_snapshot} label="lead snapshot" /> : null}
        {tab === 'raw' ? <RawBytes id={event.id} /> : null}
        {tab === 'details' ? <Details event={event} /> : null}
      </div>
    </section>
  );
}

export type { Tab };

function SnapshotDiff({ event, previous }: { event: LeadEvent; previous: LeadEvent | undefined | null }) {
  if (!event.lead_snapshot) return <p class="muted">This step carries no lead snapshot.</p>;
  if (previous === null) {
    return <p class="muted">Open <a href={`/console/leads/${encodeURIComponent(event.lead_id)}?event=${encodeURIComponent(event.id)}`}>the lead's timeline</a> to compare this step with the one before.</p>;
  }
  const changes = diffSnapshots(previous?.lead_snapshot ?? {}, event.lead_snapshot);
  return (
    <div>
      <p class="muted">
        {previous ? <>Against the previous step with a snapshot: <strong>{previous.event_type}</strong> at {formatTime(previous.occurred_at)}.</> : 'The first snapshot of this timeline: every field is new.'}
      </p>
      {changes.length === 0 ? <p data-testid="diff-none">No field changed.</p> : (
        <table class="diff" data-testid="snapshot-diff">
          <thead><tr><th>change</th><th>field</th><th>before</th><th>after</th></tr></thead>
          <tbody>
            {changes.map((c) => (
              <tr key={c.path} class={c.kind}>
                <td>{c.kind}</td>
                <td><code>{c.path}</code></td>
                <td>{c.kind === 'added' ? '' : <Value value={c.before} />}</td>
                <td>{c.kind === 'removed' ? '' : <Value value={c.after} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

function RawBytes({ id }: { id: string }) {
  const [state, setState] = useState<{ loading: true } | { error: unknown } | { contentType: string; text: string }>({ loading: true });
  useEffect(() => {
    let live = true;
    setState({ loading: true });
    apiBytes(`/v1/events/${encodeURIComponent(id)}/raw`).then(
      ({ contentType, bytes }) => {
        let text: string;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          text = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(' ');
        }
        if (live) setState({ contentType, text });
      },
      (error: unknown) => live && setState({ error }),
    );
    return () => void (live = false);
  }, [id]);
  if ('loading' in state) return <Loading what="raw bytes" />;
  if ('error' in state) {
    const status = state.error instanceof ApiError ? state.error.status : 0;
    if (status === 403) return <p class="muted" data-testid="raw-forbidden">The raw bytes need a key with pii:read.</p>;
    if (status === 404) return <p class="muted">This event kept no raw bytes.</p>;
    return <ErrorState error={state.error} />;
  }
  return (
    <div>
      <p class="muted">Exactly as received, <code>{state.contentType}</code>, {state.text.length.toLocaleString()} characters.</p>
      <pre class="json raw" tabIndex={0} data-testid="raw-bytes">{state.text}</pre>
    </div>
  );
}

function Details({ event }: { event: LeadEvent }) {
  const rows: [string, unknown][] = [
    ['id', event.id], ['lead_id', event.lead_id], ['source', `${event.source} (${event.source_type})`], ['occurred_at', formatTime(event.occurred_at)],
    ['received_at', formatTime(event.received_at)], ['external_event_id', event.external_event_id], ['flow_id', event.flow_id], ['step_id', event.step_id],
    ['reason', event.reason],
    ['duration', event.timing?.duration_ms !== undefined ? formatMs(event.timing.duration_ms) : undefined],
    ['wait', event.timing?.wait_ms !== undefined ? formatMs(event.timing.wait_ms) : undefined],
  ];
  return (
    <dl class="details">
      {rows.filter(([, v]) => v !== undefined && v !== '').map(([k, v]) => [<dt key={`${k}-t`}>{k}</dt>, <dd key={`${k}-d`}>{String(v)}</dd>])}
      {event.appended ? [<dt key="appended">appended</dt>, <dd key="appended-d"><JsonView value={event.appended} label="appended" /></dd>] : null}
    </dl>
  );
}
