import { useState } from 'preact/hooks';
import { api, ApiError, type LeadEvent, type Page } from '../api.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { formatTime } from '../format.js';
import { useLoad } from '../use-load.js';

/**
 * Provider deliveries no mapper understood (`webhook.unmapped`, stored whole so nothing is lost), and the re-map
 * button: today's mappers run over them (POST /v1/webhooks/remap, scope admin).
 */
export function Unmapped() {
  const { state, retry } = useLoad(() => api<Page<LeadEvent>>('/v1/events?type=webhook.unmapped&order=desc&limit=100'), []);
  const [remap, setRemap] = useState<{ busy: true } | { result: { examined: number; remapped: number } } | { error: unknown } | undefined>();
  const run = async () => {
    setRemap({ busy: true });
    try {
      setRemap({ result: await api('/v1/webhooks/remap', { method: 'POST', body: {} }) });
      retry();
    } catch (error) {
      setRemap({ error });
    }
  };
  return (
    <main id="main">
      <h1>Unmapped deliveries</h1>
      <p class="muted">Verified provider deliveries stored as <code>webhook.unmapped</code> (last 31 days). Re-map runs today's mappers over every one in the retention; a delivery that now maps becomes its catalogue event, once.</p>
      <p>
        <button type="button" onClick={run} disabled={remap !== undefined && 'busy' in remap} data-testid="remap">{remap && 'busy' in remap ? 'Re-mapping…' : 'Re-map all'}</button>
        {remap && 'result' in remap ? <span role="status"> Examined {remap.result.examined}, re-mapped {remap.result.remapped}.</span> : null}
        {remap && 'error' in remap ? <span role="alert" class="bad"> {remap.error instanceof ApiError && remap.error.status === 403 ? 'Re-mapping needs a key with the admin scope.' : (remap.error as Error).message}</span> : null}
      </p>
      {!state || 'loading' in state ? <Loading what="unmapped deliveries" /> : null}
      {state && 'error' in state ? <ErrorState error={state.error} retry={retry} /> : null}
      {state && 'value' in state ? (state.value.items.length === 0 ? <Empty title="Every delivery was mapped">Nothing is waiting for a mapper.</Empty> : (
        <table class="grid" data-testid="unmapped">
          <thead><tr><th>received</th><th>provider</th><th>provider event</th><th>lead</th></tr></thead>
          <tbody>
            {state.value.items.map((e) => (
              <tr key={e.id}>
                <td>{formatTime(e.received_at)}</td><td>{e.source}</td><td><code>{String(e.payload.provider_event_type ?? '—')}</code></td>
                <td><a href={`/console/leads/${encodeURIComponent(e.lead_id)}?event=${encodeURIComponent(e.id)}&tab=payload`}>{e.lead_id}</a></td>
              </tr>
            ))}
          </tbody>
        </table>
      )) : null}
    </main>
  );
}
