import { describe, expect, it } from 'vitest';
import { runDueSchedules, type ExportSchedule, type ExportScheduleStore } from '../../shared/domain/export-schedules.js';
import type { ExportJob, ExportJobStore } from '../../shared/domain/exports.js';

const DAY = 86_400_000;
const midnight = Date.UTC(2026, 10, 20);

/** An in-memory schedule store with the same claim rule as DynamoDB's conditional write. */
function scheduleStore(schedules: ExportSchedule[]): ExportScheduleStore & { byId: Map<string, ExportSchedule> } {
  const byId = new Map(schedules.map((s) => [s.id, { ...s }]));
  return {
    byId,
    async create(s) { byId.set(s.id, s); },
    async list(orgId) { return [...byId.values()].filter((s) => s.orgId === orgId); },
    async delete(_orgId, id) { return byId.delete(id); },
    async due(nowIso) { return [...byId.values()].filter((s) => s.nextRunAt <= nowIso).map((s) => ({ ...s })); },
    async claim(schedule, from, to) {
      const stored = byId.get(schedule.id);
      if (!stored || stored.nextRunAt !== from) return false;
      stored.nextRunAt = to;
      return true;
    },
  };
}

const schedule = (orgId: string, id: string, filter: Record<string, unknown> = {}): ExportSchedule => ({
  orgId, id, name: id, every: 'day', format: 'csv', filter, createdAt: new Date(midnight - DAY).toISOString(), nextRunAt: new Date(midnight).toISOString(),
});

describe('the export schedules clock', () => {
  it("one org's schedule that cannot start never keeps another org's run from starting, and is tried again next tick", async () => {
    // Org A's stored filter no longer parses (a rule tightened since it was saved); org B's store fails once for A only.
    const schedules = scheduleStore([schedule('org-a', 'es_a', { lead_id: 'x'.repeat(300) }), schedule('org-b', 'es_b'), schedule('org-c', 'es_c')]);
    const saved: ExportJob[] = [];
    const jobs: ExportJobStore = {
      async save(job) { saved.push(job); },
      async get() { return undefined; },
      async list() { return []; },
      async running() { return []; },
    };
    const ports = { schedules, exports: { store: jobs, scheduler: { start: async () => undefined } } };

    const tick = await runDueSchedules(ports, midnight + 60_000, 0);
    expect(tick.started.map((j) => j.orgId).sort()).toEqual(['org-b', 'org-c']);
    expect(tick.failed.map((f) => f.scheduleId)).toEqual(['es_a']);
    // A's claim was given back: its run is still due, the others moved on to the next boundary.
    expect(schedules.byId.get('es_a')!.nextRunAt).toBe(new Date(midnight).toISOString());
    expect(schedules.byId.get('es_b')!.nextRunAt).toBe(new Date(midnight + DAY).toISOString());

    // Fixed before the next tick: it starts then, once.
    schedules.byId.get('es_a')!.filter = {};
    const next = await runDueSchedules(ports, midnight + 120_000, 0);
    expect(next.started.map((j) => j.scheduleId)).toEqual(['es_a']);
    expect(next.failed).toEqual([]);
  });
});
