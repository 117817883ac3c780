import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { formatTime } from '../format.js';
import { proofStateOf, watchProof, type ProofState } from '../proof-loader.js';
import type { ShownEvent } from '../proofs.js';

/** An event's proof state, checked while the component is mounted (a rendered row, the open event's panel). */
function useProof(event: ShownEvent): ProofState | undefined {
  const [, redraw] = useState(0);
  useEffect(() => watchProof(event, () => redraw((n) => n + 1)), [event.id]);
  return proofStateOf(event.id);
}

const checkpointText = (s: Extract<ProofState, { state: 'verified' }>) =>
  `checkpoint of ${s.proof.checkpoint.tree_size.toLocaleString()} events, signed ${formatTime(s.proof.checkpoint.issued_at)} UTC`;

/** What a state says in one line: for the row's title and accessible name. */
function describe(state: ProofState | undefined): string {
  switch (state?.state) {
    case undefined:
    case 'checking': return 'Checking the proof of record…';
    case 'verified': return state.erased
      ? `Erased (leaf kept): its leaf hash is in the ${checkpointText(state)}, verified in this browser`
      : `Verified in this browser: in the ${checkpointText(state)}${state.leafChecked ? '' : " (its leaf hash; the leaf's fields need a key with pii:read)"}`;
    case 'pending': return 'Pending: not in a signed checkpoint yet';
    case 'failed': return `Verification failed: ${state.reason}`;
    case 'unavailable': return `Proof not checked: ${state.error instanceof ApiError ? state.error.message : 'the proof could not be fetched'}`;
  }
}

/** The mark on a timeline row: Verified, Erased (leaf kept), Pending, Verification failed, or not checked. */
export function ProofMark({ event }: { event: ShownEvent }) {
  const state = useProof(event);
  const label = describe(state);
  const common = { title: label, 'aria-label': label, role: 'img', 'data-proof': state?.state ?? 'checking' } as const;
  switch (state?.state) {
    case 'verified': return state.erased
      ? <span class="proof erased" {...common}><i aria-hidden="true">✓</i> Erased (leaf kept)</span>
      : <span class="proof verified" {...common}><i aria-hidden="true">✓</i> Verified</span>;
    case 'pending': return <span class="proof pending" {...common}><i aria-hidden="true">◷</i> Pending</span>;
    case 'failed': return <span class="proof failed" {...common}><i aria-hidden="true">✗</i> <span class="wide">Verification </span>failed</span>;
    case 'unavailable': return <span class="proof unavailable" {...common}><i aria-hidden="true">–</i> Not checked</span>;
    default: return <span class="proof checking" {...common}>Checking…</span>;
  }
}

/** The open event's proof: leaf index, checkpoint, what the browser checked and what it concluded. */
export function ProofPanel({ event }: { event: ShownEvent }) {
  const state = useProof(event);
  const checkpoint = state && 'proof' in state ? state.proof?.checkpoint : undefined;
  const proof = state && 'proof' in state ? state.proof : undefined;
  return (
    <section class="proof-panel" aria-label="Proof of record" data-testid="proof-panel">
      <h3>Proof of record</h3>
      <p class={`proof-result ${state?.state ?? 'checking'}`} role="status" data-testid="proof-result">{describe(state)}</p>
      {proof ? (
        <dl class="details">
          <dt>leaf index</dt><dd data-testid="proof-leaf-index">{String(proof.leaf_index)}</dd>
          <dt>leaf hash</dt><dd><code>{String(proof.leaf_hash)}</code></dd>
          {checkpoint ? [
            <dt key="s">checkpoint size</dt>, <dd key="s-d" data-testid="proof-tree-size">{String(checkpoint.tree_size)}</dd>,
            <dt key="t">checkpoint signed</dt>, <dd key="t-d">{typeof checkpoint.issued_at === 'string' ? `${formatTime(checkpoint.issued_at)} UTC` : '—'}</dd>,
            <dt key="r">root hash</dt>, <dd key="r-d"><code>{String(checkpoint.root_hash)}</code></dd>,
            <dt key="k">key</dt>, <dd key="k-d"><code>{String(checkpoint.key_id)}</code></dd>,
          ] : null}
          {proof.erased ? [<dt key="e">erased</dt>, <dd key="e-d">{proof.erased_at ? `${formatTime(proof.erased_at)} UTC` : 'yes'}: the content is gone, the leaf's hash stays in the log</dd>] : null}
        </dl>
      ) : null}
      {state?.state === 'verified' ? (
        <p class="muted">Checked here: the checkpoint's signature under the log's public key, {state.leafChecked ? 'the leaf naming this event, ' : ''}and the inclusion proof of its leaf hash up to the signed root. The evidence bundle also carries each event's exact record for <code>npm run verify</code>.</p>
      ) : null}
    </section>
  );
}
