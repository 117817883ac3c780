/** A step as the waterfall reads it (a LeadEvent has these fields). */
export interface Step {
  id: string;
  timing?: { wait_ms?: number; duration_ms?: number };
}

/**
 * The waterfall: steps laid end to end in timeline order, each bar as long as its `timing` (wait, then duration),
 * so where a lead spent its time shows at a glance however far apart the steps happened. Steps without timing are
 * points. Returns each event's [start, end] on that axis, in ms, and the axis' length.
 */
export function waterfall(events: readonly Step[]): { spans: Map<string, [number, number]>; total: number } {
  const spans = new Map<string, [number, number]>();
  let clock = 0;
  for (const event of events) {
    const wait = event.timing?.wait_ms ?? 0;
    const duration = event.timing?.duration_ms ?? 0;
    spans.set(event.id, [clock + wait, clock + wait + duration]);
    clock += wait + duration;
  }
  return { spans, total: Math.max(1, clock) };
}
