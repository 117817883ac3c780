import { runningRuntime, type RuntimeInfo } from './runtime.js';

/**
 * What every `npm run` tool shares: `--help`/`-h` prints its usage and exits 0 before anything starts, and a
 * tool that needs the running `npm start` says in one line when it is not running.
 */
export function exitWithUsageOnHelp(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    process.exit(0);
  }
}

/** The running `npm start` of this data folder (its URL and DynamoDB endpoint), or one line and exit 1. */
export function requireRunningServer(dataDir: string, tool: string): RuntimeInfo & { url: string } {
  const info = runningRuntime(dataDir);
  if (info?.url) return info as RuntimeInfo & { url: string };
  console.error(`${tool}: leadlog is not running for ${dataDir}: start it first with npm start (in another terminal), or point LEADLOG_DATA_DIR at the folder it runs with.`);
  process.exit(1);
}

/**
 * Progress for long tools: at most one line every `everyMs` (5 s), with the share done and an estimate of the time
 * left from the rate so far. `tick` counts work done; `done` prints nothing more.
 */
export function progress(label: string, total: number, options: { everyMs?: number; print?: (line: string) => void } = {}) {
  const started = Date.now();
  const every = options.everyMs ?? 5000;
  const print = options.print ?? ((line: string) => console.log(line));
  let doneCount = 0;
  let lastPrinted = started;
  let finished = false;
  return {
    tick(count = 1): void {
      doneCount += count;
      const now = Date.now();
      if (finished || now - lastPrinted < every) return;
      lastPrinted = now;
      const elapsed = (now - started) / 1000;
      const left = doneCount > 0 ? (elapsed / doneCount) * Math.max(0, total - doneCount) : Number.NaN;
      print(`${label}: ${doneCount}/${total} (${Math.floor((100 * doneCount) / total)} %), ${elapsed.toFixed(0)} s so far, about ${Number.isFinite(left) ? left.toFixed(0) : '?'} s left`);
    },
    done(): void {
      finished = true;
    },
  };
}
