import { defaultScheduleClockDependencies } from '../shared/adapters/container.js';
import { runDueSchedules } from '../shared/domain/export-schedules.js';

/** The clock of scheduled exports: EventBridge Scheduler invokes it every 15 minutes; it starts each due run once. */
export const handler = async () => {
  const deps = defaultScheduleClockDependencies();
  const tick = await runDueSchedules(deps, Date.now(), deps.settleMs);
  // A schedule that could not start is retried at the next tick; the invocation fails so the error metric alarms.
  if (tick.failed.length > 0) {
    throw new Error(`${tick.failed.length} scheduled export(s) could not start: ${tick.failed.map((f) => `${f.scheduleId}: ${f.error.name}`).join('; ')}`);
  }
  return { started: tick.started.map((job) => job.id) };
};
