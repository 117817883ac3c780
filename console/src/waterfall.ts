/** A step as the waterfall reads it (a LeadEvent has these fields; LeadConduit's events carry all of them). */
export interface Step {
  id: string;
  timing?: { start_timestamp?: number; end_timestamp?: number; wait_ms?: number; duration_ms?: number };
}

/**
 * The waterfall: where a lead spent its time, however far apart its steps happened. Returns each event's
 * [start, end] on one axis, in ms, and the axis' length. Steps are taken in timeline order:
 * - A step with a clock time (`timing.start_timestamp`, as LeadConduit's events have) that starts while the run of
 *   clocked steps before it is still going (at or after the run's first start, at or before its latest end) is drawn at
 *   its real offset in that run: a LeadConduit source step spans the filters and recipients it ran, which overlap
 *   it (and one another: recipients run side by side), so they are drawn inside it, not after it.
 * - Any other step starts a new run after everything drawn so far: its wait, then its duration. The gaps between runs
 *   (a retry hours later, a feedback days later) are not drawn. Steps without a clock time are laid end to end as
 *   before; steps without timing are points.
 * A duration is `duration_ms`, else `end_timestamp - start_timestamp`.
 */
export function waterfall(events: readonly Step[]): { spans: Map<string, [number, number]>; total: number } {
  const spans = new Map<string, [number, number]>();
  let clock = 0;
  /** The current run of clocked steps: its first start (epoch ms), where it sits on the axis, its latest end. */
  let run: { fromMs: number; at: number; untilMs: number } | undefined;
  for (const event of events) {
    const timing = event.timing;
    const startMs = finite(timing?.start_timestamp);
    const endMs = finite(timing?.end_timestamp);
    const duration = finite(timing?.duration_ms) ?? (startMs !== undefined && endMs !== undefined ? Math.max(0, endMs - startMs) : 0);
    if (startMs !== undefined && run && startMs >= run.fromMs && startMs <= run.untilMs) {
      const start = run.at + (startMs - run.fromMs);
      spans.set(event.id, [start, start + duration]);
      run.untilMs = Math.max(run.untilMs, startMs + duration);
      clock = Math.max(clock, start + duration);
      continue;
    }
    const start = clock + (finite(timing?.wait_ms) ?? 0);
    spans.set(event.id, [start, start + duration]);
    clock = start + duration;
    run = startMs === undefined ? undefined : { fromMs: startMs, at: start, untilMs: startMs + duration };
  }
  return { spans, total: Math.max(1, clock) };
}

const finite = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
