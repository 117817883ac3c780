import type { Dirent } from 'node:fs';
import { readdir, rm, rmdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { INBOX_INGESTED_EXPIRY_DAYS, INBOX_PREFIX, LOCAL_INGESTED_DIR, LOCAL_REJECTED_DIR } from '../../shared/definitions/leadconduit-inbox.js';
import { mapWithConcurrency } from '../../shared/domain/concurrency.js';
import { INCOMPLETE_GRACE_MS, parseInboxKey, processInboxObject, type InboxOutcome, type InboxPorts } from '../../shared/domain/leadconduit/inbox.js';

/**
 * `npm start`'s stand-in for S3 → SQS → the inbox function: it watches `<root>/leadconduit/<org_id>/` (root is
 * `.data/inbox`; the same key layout as the bucket) and hands each new file to the same processInboxObject.
 *
 * Invariants:
 * - A file is taken only once it is quiet: the same size and modification time on two passes, and at least `settleMs`
 *   old. A writer that pauses longer still never has half a file ingested: a body that does not parse waits
 *   INCOMPLETE_GRACE_MS since its last change (the domain's `pending`), and a prefix of a JSON object never parses.
 *   A name that is not an event's (`.json`) is also given that grace before it is set aside (a writer's temporary name).
 * - Ingested files move to `<org>/_ingested/` and are deleted INBOX_INGESTED_EXPIRY_DAYS after they were written (the
 *   bucket's lifecycle rule); set-aside ones to `<org>/_rejected/` with `<name>.error.json`. Those folders, hidden
 *   files (`.name`: editors' and rsync's partial files) and anything that is not a regular file are never taken.
 * - A failure (DynamoDB Local down) leaves the file where it is: the next pass takes it again.
 * - Passes never overlap; stop() waits for the one under way.
 */
export interface InboxWatcherOptions {
  /** The inbox folder (`.data/inbox`): files are under `<root>/leadconduit/`. */
  root: string;
  /** The inbox's ports over a FileInboxObjects of the same root (shared/adapters/container.ts: leadConduitInboxPorts). */
  ports: InboxPorts;
  /** Between passes (1 s: a file is ingested about 2 s after its last write). */
  intervalMs?: number;
  /** How long a file must be unchanged before it is read. */
  settleMs?: number;
  /** Told of each file's outcome (not `pending`). */
  onOutcome?: (key: string, outcome: InboxOutcome) => void;
  /** Told of a file that could not be handled this pass (it is taken again on the next). */
  onError?: (key: string, error: Error) => void;
  now?: () => number;
}

const SKIPPED_FOLDERS = new Set([LOCAL_REJECTED_DIR, LOCAL_INGESTED_DIR]);
/** The _ingested folders are swept for expired files this often. */
const EXPIRY_SWEEP_MS = 10 * 60_000;

export class LeadConduitInboxWatcher {
  private readonly seen = new Map<string, { size: number; mtimeMs: number }>();
  /** The last error reported per key: the same failure is told once, not every second. */
  private readonly failing = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | undefined;
  private stopped = true;
  private lastExpirySweep = 0;
  private readonly now: () => number;

  constructor(private readonly options: InboxWatcherOptions) {
    this.now = options.now ?? Date.now;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.sweep().finally(() => this.schedule(this.options.intervalMs ?? 1000));
    }, delayMs);
    this.timer.unref();
  }

  /** One pass: every quiet file handled, the expired ingested files removed (at most every 10 minutes). */
  async sweep(): Promise<void> {
    const files = await this.list();
    const present = new Set(files.map((f) => f.key));
    for (const key of this.seen.keys()) if (!present.has(key)) this.seen.delete(key);
    const nowMs = this.now();
    const settle = this.options.settleMs ?? 1000;
    const ready = files.filter(({ key, size, mtimeMs }) => {
      const before = this.seen.get(key);
      this.seen.set(key, { size, mtimeMs });
      if (!before || before.size !== size || before.mtimeMs !== mtimeMs || nowMs - mtimeMs < settle) return false;
      // Not an event's name: perhaps a writer's temporary file, renamed once whole. Judged only once it stayed quiet longer.
      return parseInboxKey(key).kind !== 'reject' || nowMs - mtimeMs >= INCOMPLETE_GRACE_MS;
    });
    await mapWithConcurrency(ready, 4, async ({ key }) => {
      try {
        const outcome = await processInboxObject(this.options.ports, key, this.now());
        this.failing.delete(key);
        if (outcome.outcome === 'pending') return;
        this.seen.delete(key);
        this.options.onOutcome?.(key, outcome);
      } catch (error) {
        const message = (error as Error).message;
        if (this.failing.get(key) !== message) this.options.onError?.(key, error as Error);
        this.failing.set(key, message);
      }
    });
    if (nowMs - this.lastExpirySweep >= EXPIRY_SWEEP_MS) {
      this.lastExpirySweep = nowMs;
      await this.expireIngested(nowMs).catch((error: Error) => this.options.onError?.(LOCAL_INGESTED_DIR, error));
    }
  }

  /** Every candidate file under `<root>/leadconduit/` with its key (`leadconduit/…`, `/`-separated), size and mtime. */
  private async list(): Promise<{ key: string; size: number; mtimeMs: number }[]> {
    const base = join(this.options.root, INBOX_PREFIX);
    const found: { key: string; size: number; mtimeMs: number }[] = [];
    const walk = async (dir: string, depth: number): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
        throw error;
      }
      for (const entry of entries) {
        if (entry.name.startsWith('.')) continue;
        const path = join(dir, entry.name);
        // leadconduit/_rejected (files set aside from right under leadconduit/) and each org's own _rejected, _ingested.
        if (entry.isDirectory()) {
          if (depth <= 1 && SKIPPED_FOLDERS.has(entry.name)) continue;
          await walk(path, depth + 1);
        } else if (entry.isFile()) {
          const info = await stat(path).catch(() => undefined);
          if (info) found.push({ key: `${INBOX_PREFIX}${relative(base, path).split(sep).join('/')}`, size: info.size, mtimeMs: info.mtimeMs });
        }
      }
    };
    await walk(base, 0);
    return found;
  }

  /** Deletes ingested files written more than INBOX_INGESTED_EXPIRY_DAYS ago, and the folders that leaves empty. */
  private async expireIngested(nowMs: number): Promise<void> {
    const base = join(this.options.root, INBOX_PREFIX);
    const cutoff = nowMs - INBOX_INGESTED_EXPIRY_DAYS * 86_400_000;
    const sweep = async (dir: string): Promise<boolean> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
      let empty = true;
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (await sweep(path)) await rmdir(path).catch(() => undefined);
          else empty = false;
        } else if (entry.isFile() && ((await stat(path).catch(() => undefined))?.mtimeMs ?? nowMs) < cutoff) {
          await rm(path, { force: true });
        } else {
          empty = false;
        }
      }
      return empty;
    };
    for (const org of await readdir(base, { withFileTypes: true }).catch(() => [] as Dirent[])) {
      if (org.isDirectory()) await sweep(join(base, org.name, LOCAL_INGESTED_DIR));
    }
  }
}
