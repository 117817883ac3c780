import { defaultScheduleClockDependencies } from '../shared/adapters/container.js';
import { runDueSchedules } from '../shared/domain/export-schedules.js';

/** The clock of scheduled exports: EventBridge Scheduler invokes it every 15 minutes; it starts each due run once. */
export const handler = async () => {
  const deps = defaultScheduleClockDependencies();
  const started = await runDueSchedules(deps, Date.now(), deps.settleMs);
  return { started: started.map((job) => job.id) };
};
