import { api, ApiError, session } from './api.js';
import { importPublicKey, verifyEventProof, type EventProof, type ShownEvent, type VerifyKey } from './proofs.js';

/**
 * Each shown event's proof, asked for and verified in the browser: `GET /v1/events/{id}/proof` for the rows a page
 * renders (a row that leaves the view before its turn is never asked), at most MAX_IN_FLIGHT at once, each answer
 * kept per event id for the tab (until the key changes); the public key (`GET /v1/proofs/public-key`, no auth) once
 * per page load. A 404 (proof-pending: the event is not in a checkpoint yet) is asked again after its Retry-After
 * while the row is still shown.
 */
export type ProofState =
  | { state: 'checking' }
  | { state: 'verified'; proof: EventProof; erased: boolean; leafChecked: boolean }
  | { state: 'pending'; retryAfter: number }
  | { state: 'failed'; reason: string; proof?: EventProof }
  | { state: 'unavailable'; error: unknown };

const MAX_IN_FLIGHT = 4;
/** Bounds on the wait before asking a pending proof again, seconds (the local integrator runs every 10 s). */
const RETRY_MIN_S = 2;
const RETRY_MAX_S = 60;

let publicKey: Promise<VerifyKey> | undefined;

/** The log's public key, fetched once per page load (again only after a failure). */
function logKey(): Promise<VerifyKey> {
  publicKey ??= (async () => {
    let response: Response;
    try {
      response = await fetch('/v1/proofs/public-key', { cache: 'no-store' });
    } catch {
      throw new ApiError(0, { title: 'Network error', detail: 'The public key could not be fetched.' });
    }
    if (!response.ok) throw new ApiError(response.status, { title: 'No public key', detail: `GET /v1/proofs/public-key answered ${response.status}.` });
    return importPublicKey(await response.text());
  })();
  publicKey.catch(() => (publicKey = undefined));
  return publicKey;
}

const states = new Map<string, ProofState>();
const watchers = new Map<string, { count: number; event: ShownEvent; listeners: Set<() => void> }>();
const queue: string[] = [];
const queued = new Set<string>();
let inFlight = 0;
let generation = 0; // answers asked under another key are dropped

session.onChange(() => {
  generation += 1;
  states.clear();
  queue.length = 0;
  queued.clear();
});

function set(id: string, state: ProofState | undefined): void {
  if (state) states.set(id, state);
  else states.delete(id);
  watchers.get(id)?.listeners.forEach((l) => l());
}

function enqueue(id: string): void {
  set(id, { state: 'checking' });
  if (!queued.has(id)) {
    queued.add(id);
    queue.push(id);
  }
  pump();
}

function pump(): void {
  while (inFlight < MAX_IN_FLIGHT && queue.length > 0) {
    const id = queue.shift()!;
    queued.delete(id);
    const watched = watchers.get(id);
    if (!watched) {
      states.delete(id); // left the view before its turn: asked again if it comes back
      continue;
    }
    inFlight += 1;
    const asked = generation;
    check(id, watched.event).then((state) => {
      if (asked === generation) settle(id, state);
    }).finally(() => {
      inFlight -= 1;
      pump();
    });
  }
}

async function check(id: string, event: ShownEvent): Promise<ProofState> {
  let proof: EventProof;
  try {
    proof = await api<EventProof>(`/v1/events/${encodeURIComponent(id)}/proof`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404 && /proof-pending/.test(error.problem.type ?? '')) {
      return { state: 'pending', retryAfter: Math.min(RETRY_MAX_S, Math.max(RETRY_MIN_S, error.retryAfter ?? 10)) };
    }
    return { state: 'unavailable', error };
  }
  let key: VerifyKey;
  try {
    key = await logKey();
  } catch (error) {
    return { state: 'unavailable', error };
  }
  const verdict = await verifyEventProof(proof, event, key);
  return verdict.ok ? { state: 'verified', proof, erased: verdict.erased, leafChecked: verdict.leafChecked } : { state: 'failed', reason: verdict.reason, proof };
}

function settle(id: string, state: ProofState): void {
  set(id, state);
  if (state.state === 'pending') {
    const asked = generation;
    setTimeout(() => {
      if (asked !== generation || states.get(id) !== state) return;
      if (watchers.has(id)) enqueue(id);
      else states.delete(id);
    }, state.retryAfter * 1000);
  }
}

/** Starts (or reuses) the check of `event`'s proof while it is shown; `listener` hears each change. Returns the unwatch. */
export function watchProof(event: ShownEvent, listener: () => void): () => void {
  let watched = watchers.get(event.id);
  if (!watched) {
    watched = { count: 0, event, listeners: new Set() };
    watchers.set(event.id, watched);
  }
  watched.count += 1;
  watched.listeners.add(listener);
  if (!states.has(event.id)) enqueue(event.id);
  return () => {
    watched.count -= 1;
    watched.listeners.delete(listener);
    if (watched.count === 0) watchers.delete(event.id);
  };
}

export const proofStateOf = (id: string): ProofState | undefined => states.get(id);
