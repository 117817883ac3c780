import { runErasure, type ErasurePorts } from '../../shared/domain/erasure.js';

/**
 * The local stand-in for the erasure's Step Functions workflow: every `pollMs` it looks for running jobs (their
 * running marks in the control table) and runs each as far as it goes, waiting out a settle phase as the
 * workflow's Wait state does. A job a crash interrupted is found again on the next start and resumed.
 */
export class ErasureRunner {
  private timer: NodeJS.Timeout | undefined;
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly notBefore = new Map<string, number>();

  constructor(private readonly ports: ErasurePorts, private readonly options: { pollMs?: number; onError?: (error: Error) => void } = {}) {}

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
    let running: { orgId: string; id: string }[];
    try {
      running = await this.ports.erasures.running();
    } catch (error) {
      this.options.onError?.(error as Error);
      return;
    }
    const now = this.ports.clock.now();
    for (const { orgId, id } of running) {
      const key = `${orgId}/${id}`;
      if (this.inFlight.has(key) || (this.notBefore.get(key) ?? 0) > now) continue;
      const step = runErasure(this.ports, orgId, id)
        .then((outcome) => {
          if ('waitMs' in outcome) this.notBefore.set(key, this.ports.clock.now() + outcome.waitMs);
          else this.notBefore.delete(key);
        })
        .catch((error: Error) => this.options.onError?.(error))
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, step);
    }
    await Promise.allSettled([...this.inFlight.values()]);
  }
}
