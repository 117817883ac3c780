import { randomUUID } from 'node:crypto';
import type { ReportEngine, ReportQuery, ReportRunState } from '../../shared/domain/ports.js';
import { attachArchive, openDuckDb } from './duckdb.js';

/** How long a finished run is kept for `GET /v1/reports/runs/{id}`, and how many runs at most (oldest dropped first). */
export const LOCAL_RUN_TTL_MS = 60 * 60_000;
const MAX_RUNS = 1_000;
/** DuckDB's memory for one report (it spills past it), as for an export. */
const REPORT_MEMORY_LIMIT = '512MB';

interface Run {
  done: Promise<ReportRunState>;
  state: ReportRunState;
  startedAt: number;
}

/**
 * The local stand-in for Athena's reports: DuckDB over the local archive (the `events` view, each event once; rows
 * accepted but not flushed yet included, as `npm run athena` does). A run is a promise kept in this process (the
 * `npm start` runtime, where every function runs): it goes on when the request that started it stops waiting, and
 * is kept an hour after it started. A restart forgets runs (their ids then answer 404), as Athena forgets results
 * after its own retention; the request can simply be made again.
 */
export class LocalReportEngine implements ReportEngine {
  private readonly runs = new Map<string, Run>();

  constructor(private readonly archiveDir: string, private readonly nowMs: () => number = Date.now) {}

  async start(query: ReportQuery): Promise<string> {
    this.evict();
    const handle = randomUUID();
    const run: Run = { state: { status: 'running' }, startedAt: this.nowMs(), done: undefined as never };
    run.done = this.execute(query).then(
      (rows): ReportRunState => ({ status: 'succeeded', rows }),
      (error: unknown): ReportRunState => ({ status: 'failed', error: error instanceof Error ? error.message : String(error) }),
    ).then((state) => (run.state = state));
    this.runs.set(handle, run);
    return handle;
  }

  async wait(handle: string, signal: AbortSignal): Promise<ReportRunState> {
    const run = this.runs.get(handle);
    if (!run) throw new Error(`no local report run ${handle}`);
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([run.done, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  async state(handle: string): Promise<ReportRunState | undefined> {
    this.evict();
    return this.runs.get(handle)?.state;
  }

  private evict(): void {
    const now = this.nowMs();
    for (const [handle, run] of this.runs) {
      if (now - run.startedAt > LOCAL_RUN_TTL_MS || this.runs.size > MAX_RUNS) this.runs.delete(handle);
    }
  }

  /** Runs the SQL with its parameters bound (DuckDB prepared statement), each run on its own connection. */
  protected async execute(query: ReportQuery): Promise<Record<string, unknown>[]> {
    const connection = await openDuckDb();
    try {
      await connection.run(`SET memory_limit = '${REPORT_MEMORY_LIMIT}'`);
      await attachArchive(connection, this.archiveDir, { includeBuffered: true });
      return (await connection.runAndReadAll(query.sql, query.params)).getRowObjectsJson() as Record<string, unknown>[];
    } finally {
      connection.closeSync();
    }
  }
}
