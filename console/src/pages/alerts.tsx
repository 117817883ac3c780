import { api, type Alert, type Page } from '../api.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { formatTime } from '../format.js';
import { useLoad } from '../use-load.js';

/** Recent `Alert Raised` (GET /v1/alerts), newest first: what crossed its threshold, when, and the top reasons. */
export function Alerts() {
  const { state, retry } = useLoad(() => api<Page<Alert>>('/v1/alerts?limit=100'), []);
  return (
    <main id="main">
      <h1>Alerts</h1>
      <p class="muted">Windowed rules over the last hour (rejection rate, step duration, source rejection, buyer acceptance); each raised at most once per window. The same alerts go to your EventBridge subscriptions.</p>
      {!state || 'loading' in state ? <Loading what="alerts" /> : null}
      {state && 'error' in state ? <ErrorState error={state.error} retry={retry} /> : null}
      {state && 'value' in state ? (state.value.items.length === 0 ? <Empty title="No alert in the last 7 days">When a rule crosses its threshold, it shows up here.</Empty> : (
        <table class="grid" data-testid="alerts">
          <thead><tr><th>window</th><th>rule</th><th>dimension</th><th>value</th><th>threshold</th><th>samples</th><th>top reasons</th></tr></thead>
          <tbody>
            {state.value.items.map((a) => (
              <tr key={`${a.rule_id}${a.dimension}${a.window_start}`}>
                <td>{formatTime(a.window_start)}</td><td>{a.rule_id}</td><td><code>{a.dimension}</code></td>
                <td class={a.value > a.threshold ? 'bad' : ''}>{a.value}</td><td>{a.threshold}</td><td>{a.sample_size}</td>
                <td>{a.top_reasons.map((r) => `${r.reason} (${r.count})`).join(', ') || '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )) : null}
    </main>
  );
}
