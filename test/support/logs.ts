/**
 * Captures every log line a test process writes (stdout, stderr and console, which Powertools uses in dev mode),
 * at DEBUG, for scans; console output is kept, not printed. `restore` puts everything back.
 */
export function captureLogs(): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
  const writes = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (lines.push(String(chunk)), writes.out(chunk as never, ...(rest as [])))) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (lines.push(String(chunk)), writes.err(chunk as never, ...(rest as [])))) as typeof process.stderr.write;
  const originals: Record<string, unknown> = {};
  for (const method of ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const) {
    originals[method] = console[method];
    console[method] = (...args: unknown[]) => void lines.push(args.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' '));
  }
  return {
    lines,
    restore: () => {
      process.stdout.write = writes.out;
      process.stderr.write = writes.err;
      for (const [method, original] of Object.entries(originals)) (console as unknown as Record<string, unknown>)[method] = original;
    },
  };
}
