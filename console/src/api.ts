import { parseJson } from './json.js';

/**
 * The console's only way to the API: same origin, the key from sessionStorage in the Authorization header (never
 * in a URL), problem+json answers turned into ApiErrors. A 401 forgets the key and asks for it again.
 */
const KEY = 'leadlog.apiKey';
/** Whether the signed-in key holds the admin scope: '1' or '0', kept beside the key and forgotten with it. */
const ADMIN = 'leadlog.isAdmin';
const listeners = new Set<() => void>();
let adminCheck: Promise<boolean> | undefined;

export const session = {
  key: (): string | null => sessionStorage.getItem(KEY),
  signIn(key: string): void {
    forgetAdmin();
    sessionStorage.setItem(KEY, key);
    listeners.forEach((l) => l());
  },
  signOut(): void {
    forgetAdmin();
    sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
  onChange(listener: () => void): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
};

export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

export class ApiError extends Error {
  /** `retryAfter`: the answer's Retry-After in seconds, when it gave one (a 404 proof-pending, a 429). */
  constructor(readonly status: number, readonly problem: Problem, readonly retryAfter?: number) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

function forgetAdmin(): void {
  sessionStorage.removeItem(ADMIN);
  adminCheck = undefined;
}

/**
 * Whether the signed-in key holds the admin scope, asked once per session without a route of its own: the identity
 * settings (`GET /v1/settings/identity`, scope admin, no side effect, not audited) answer 200 to an admin key and 403
 * to any other. The answer is kept until the key changes; a failure that says nothing about the scope (network,
 * 5xx) answers false for now and is asked again next time. Only what the console shows depends on it: the API
 * checks the scope on every admin call anyway.
 */
export function isAdmin(): Promise<boolean> {
  const known = sessionStorage.getItem(ADMIN);
  if (known !== null) return Promise.resolve(known === '1');
  if (adminCheck) return adminCheck; // pages asking at once share one request
  const askedWith = session.key();
  const check: Promise<boolean> = send('/v1/settings/identity')
    .then(() => true, (error: unknown) => (error instanceof ApiError && error.status === 403 ? false : undefined))
    .then((admin) => {
      if (adminCheck === check) adminCheck = undefined;
      if (admin === undefined) return false;
      // Kept only for the key it was asked with (a sign-out or another key meanwhile forgot the check).
      if (askedWith !== null && session.key() === askedWith) sessionStorage.setItem(ADMIN, admin ? '1' : '0');
      return admin;
    });
  adminCheck = check;
  return check;
}

/** Whether `key` may read this org's events: checked before it is kept, so a wrong key is never stored. */
export async function verifyKey(key: string): Promise<void> {
  await send('/v1/events?limit=1', {}, key);
}

async function send(path: string, init: { method?: string; body?: unknown } = {}, candidate?: string): Promise<Response> {
  const key = candidate ?? session.key();
  if (!key) throw new ApiError(401, { title: 'Signed out', detail: 'Enter an API key to continue.' });
  let response: Response;
  try {
    response = await fetch(path, {
      method: init.method ?? 'GET',
      cache: 'no-store',
      headers: { authorization: `Bearer ${key}`, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  } catch {
    throw new ApiError(0, { title: 'Network error', detail: 'The API did not answer. Is the server running?' });
  }
  if (response.ok) return response;
  let problem: Problem = { title: response.statusText };
  try {
    problem = (parseJson(await response.text()) as Problem) ?? problem;
  } catch {
    // not problem+json: keep the status text
  }
  if (response.status === 401 && candidate === undefined) session.signOut();
  const retryAfter = Number(response.headers.get('retry-after') ?? NaN);
  throw new ApiError(response.status, problem, Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined);
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const response = await send(path, init);
  const text = await response.text();
  return (text ? parseJson(text) : undefined) as T;
}

/** The answer with its status and headers: a 202's `Location` (a report run) as well as its body. */
export async function apiAnswer<T>(path: string): Promise<{ status: number; location: string | null; body: T }> {
  const response = await send(path);
  const text = await response.text();
  return { status: response.status, location: response.headers.get('location'), body: (text ? parseJson(text) : undefined) as T };
}

/** The exact bytes of a raw read, with their content type. */
export async function apiBytes(path: string): Promise<{ contentType: string; bytes: Uint8Array }> {
  const response = await send(path);
  return { contentType: response.headers.get('content-type') ?? 'application/octet-stream', bytes: new Uint8Array(await response.arrayBuffer()) };
}

/** Query string from defined values only. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const entries = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== '') as [string, string | number][];
  return entries.length ? `?${new URLSearchParams(entries.map(([k, v]): [string, string] => [k, String(v)])).toString()}` : '';
}

// ── The API's shapes, as the console reads them ─────────────────────────────────────────────────────────

export interface LeadEvent {
  id: string;
  org_id: string;
  lead_id: string;
  source_type: string;
  source: string;
  event_type: string;
  outcome?: 'success' | 'failure' | 'error';
  reason?: string;
  flow_id?: string;
  step_id?: string;
  entity_id?: string;
  external_event_id?: string;
  payload: Record<string, unknown>;
  raw_payload?: unknown;
  lead_snapshot?: Record<string, unknown>;
  appended?: Record<string, unknown>;
  timing?: { start_timestamp?: number; end_timestamp?: number; duration_ms?: number; wait_ms?: number; overhead_ms?: number; lag_ms?: number; total_ms?: number };
  occurred_at: string;
  received_at: string;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

export interface Lead {
  lead_id: string;
  identities: { kind: 'email' | 'phone' | 'ref'; value: string }[];
  merged_into?: string;
  merged_from: string[];
  first_seen_at: string | null;
  last_seen_at: string | null;
}

/** `POST /v1/leads/{lead_id}/unmerge`: `lead` is the unmerged lead, live again; `changed: false` when it already was. */
export interface UnmergeResult {
  changed: boolean;
  from_lead_id: string;
  lead: Lead;
}

export interface Alert {
  rule_id: string;
  dimension: string;
  window_start: string;
  window_end: string;
  value: number;
  threshold: number;
  sample_size: number;
  top_reasons: { reason: string; count: number }[];
}
