import { useState } from 'preact/hooks';
import { ApiError, session, verifyKey } from '../api.js';

/** Asks for an API key once per browser tab; it lives in sessionStorage only (gone when the tab closes). */
export function SignIn() {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) return setError('Paste an API key (npm start prints the dev key).');
    setBusy(true);
    setError(undefined);
    try {
      await verifyKey(trimmed);
      session.signIn(trimmed);
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setBusy(false);
      setError(status === 401 ? 'That key was not accepted.' : status === 403 ? 'This key cannot read events (it lacks the events:read scope).' : (err as Error).message);
    }
  };
  return (
    <main id="main" class="signin">
      <h1>leadlog console</h1>
      <p>Sign in with an API key of your org. It stays in this tab only (sessionStorage): never in a URL, a log or on disk.</p>
      <form onSubmit={submit}>
        <label for="api-key">API key</label>
        <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck={false} value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} autoFocus />
        <button type="submit" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
      {error ? <p class="state error" role="alert">{error}</p> : null}
    </main>
  );
}
