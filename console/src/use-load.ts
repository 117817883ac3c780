import { useEffect, useState } from 'preact/hooks';

export type Loaded<T> = { loading: true } | { error: unknown } | { value: T };

/**
 * Runs `load` when `deps` change (or on `retry`), and says where it stands: loading, failed, or its value. An
 * answer that arrives after the view moved on is dropped. `load` undefined: nothing to load (state undefined).
 */
export function useLoad<T>(load: (() => Promise<T>) | undefined, deps: unknown[]): { state: Loaded<T> | undefined; retry: () => void } {
  const [state, setState] = useState<Loaded<T> | undefined>(load ? { loading: true } : undefined);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!load) return setState(undefined);
    let current = true;
    setState({ loading: true });
    load().then((value) => current && setState({ value }), (error: unknown) => current && setState({ error }));
    return () => void (current = false);
  }, [...deps, attempt]);
  return { state, retry: () => setAttempt((a) => a + 1) };
}
