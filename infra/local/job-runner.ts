import { runErasure, type ErasurePorts } from '../../shared/domain/erasure.js';
import { runExport, type ExportEngine, type ExportJob, type ExportJobStore } from '../../shared/domain/exports.js';
import { runReplay } from '../../shared/domain/replays.js';

/** What a runner drives: the jobs still running, and one step of a job (which may ask to be called again later). */
export interface Jobs {
  running(): Promise<{ orgId: string; id: string }[]>;
  step(orgId: string, id: string): Promise<{ waitMs: number } | unknown>;
}

/**
 * The local stand-in for a job's Step Functions workflow (erasures, exports): every `pollMs` it looks for running
 * jobs (their running marks in the control table) and runs each as far as it goes, waiting out a settle phase as
 * the workflow's Wait state does. A job a crash interrupted is found again on the next start and resumed.
 */
export class JobRunner {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly jobs: Jobs, private readonly options: { pollMs?: number; onError?: (error: Error) => void; now?: () => number } = {}) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.options.pollMs ?? 500);
    this.timer.unref();
    void this.tick();
  }

  /** Stops polling and waits for the steps under way (a job left mid-way resumes on the next start). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /** Runs every running job that is due, once; resolves when those steps are done (tests call it directly). */
  async tick(): Promise<void> {
    const now = this.options.now ?? Date.now;
    let running: { orgId: string; id: string }[];
    try {
      running = await this.jobs.running();
    } catch (error) {
      this.options.onError?.(error as Error);
      return;
    }
    for (const { orgId, id } of running) {
      const key = `${orgId}/${id}`;
      if (this.inFlight.has(key) || (this.notBefore.get(key) ?? 0) > now()) continue;
      const step = this.jobs.step(orgId, id)
        .then((outcome) => {
          if (outcome && typeof outcome === 'object' && 'waitMs' in outcome) this.notBefore.set(key, now() + (outcome as { waitMs: number }).waitMs);
          else this.notBefore.delete(key);
        })
        .catch((error: Error) => this.options.onError?.(error))
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, step);
    }
    await Promise.allSettled([...this.inFlight.values()]);
  }
}

/** Erasures (DELETE /v1/leads/{id}): the Step Functions workflow's job, run here. */
export class ErasureRunner extends JobRunner {
  /** `only`: the orgs whose erasures this runner takes (tests sharing one DynamoDB Local each run their own orgs'). */
  constructor(ports: ErasurePorts, options: { pollMs?: number; onError?: (error: Error) => void; only?: (orgId: string) => boolean } = {}) {
    const { only, ...runnerOptions } = options;
    const running = async () => (await ports.erasures.running()).filter((job) => only?.(job.orgId) ?? true);
    super({ running, step: (orgId, id) => runErasure(ports, orgId, id) }, { ...runnerOptions, now: () => ports.clock.now() });
  }
}

/** Exports (POST /v1/exports): the export workflow's job, run here over the local archive. */
export class ExportRunner extends JobRunner {
  constructor(ports: { store: ExportJobStore; engine: ExportEngine; onProgress?: (job: ExportJob) => void; announce?: (job: ExportJob) => Promise<void> }, options: { pollMs?: number; onError?: (error: Error) => void } = {}) {
    super({ running: () => ports.store.running(), step: (orgId, id) => runExport({ ...ports, nowMs: Date.now }, orgId, id) }, options);
  }
}

/** Replays (POST /v1/replays): the replay workflow's job, run here onto the local bus. */
export class ReplayRunner extends JobRunner {
  constructor(ports: Parameters<typeof runReplay>[0], options: { pollMs?: number; onError?: (error: Error) => void } = {}) {
    super({ running: () => ports.replays.running(), step: (orgId, id) => runReplay(ports, orgId, id) }, options);
  }
}
