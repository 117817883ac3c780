import type { ComponentChildren } from 'preact';
import { ApiError } from '../api.js';

/** The designed empty, loading and error states every view uses (never a blank area). */
export function Loading({ what }: { what: string }) {
  return <div class="state" role="status" aria-live="polite"><span class="spinner" aria-hidden="true" /> Loading {what}…</div>;
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return <div class="state empty"><strong>{title}</strong>{children ? <p>{children}</p> : null}</div>;
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const problem = error instanceof ApiError ? error.problem : { title: 'Something went wrong', detail: String((error as Error)?.message ?? error) };
  const status = error instanceof ApiError ? error.status : undefined;
  const hint = status === 403 ? 'This API key lacks the scope this view needs.' : status === 404 ? 'Nothing here for this org (or it was erased).' : undefined;
  return (
    <div class="state error" role="alert">
      <strong>{problem.title ?? 'Error'}{status ? ` (${status})` : ''}</strong>
      <p>{problem.detail}</p>
      {problem.errors?.length ? <ul>{problem.errors.map((e) => <li key={e.path}><code>{e.path}</code> {e.message}</li>)}</ul> : null}
      {hint ? <p class="muted">{hint}</p> : null}
      {retry ? <button type="button" onClick={retry}>Try again</button> : null}
    </div>
  );
}
