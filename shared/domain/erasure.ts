import type { ProofLogStore } from './proof-log.js';
import { randomUUID } from 'node:crypto';
import { ErasureRunningError, NotFoundError } from './errors.js';
import { BUS_SOURCE, LEAD_ERASED_DETAIL_TYPE } from '../definitions/event-rules.js';
import { mapWithConcurrency } from './concurrency.js';
import { followMerges, liveLead, mergedSubtree } from './identity.js';
import { identityDigest, leadDigest } from './keys.js';
import { AUDIT_MAX_RANGE_DAYS } from './audit.js';
import type { ExportEngine, ExportJob, ExportJobStore } from './exports.js';
import { DAY_MS } from './time.js';
import { archivedIdForms, maskId } from './masking.js';
import type {
  ArchiveEraser, AuditLog, BlobStore, BusEntry, Clock, ErasableEvent, ErasureJob, ErasureScheduler, ErasureStore, EventBus, EventStore, IdentityStore, InboxObjects,
} from './ports.js';
import { chunkEntries, entrySize } from './fanout.js';
import { chunkBy } from './sink.js';
import { sha256Hex } from './canonical.js';
import { inboxKeyOrder, leadIdOfInboxKey } from './leadconduit/inbox.js';

/**
 * Erasure (section 9): a lead, every lead merged with it, and everything leadlog holds of them, removed from every
 * store. An append-only log does not pretend to be mutable: the events are deleted, not rewritten, and what
 * remains is the job's own record (the members' pseudonyms, maskId, and counts, no PII) and the audit entry.
 * The plain ids are held only while the job runs (each phase needs them; a crash-resumed run too); completing it
 * replaces them by their pseudonyms in the same write, and the per-lead markers are keyed by a digest.
 *
 * The job is a sequence of phases, each idempotent, the phase persisted after it finishes, so a crash anywhere
 * resumes by running the current phase again:
 *
 *   hot       for each member lead, page by page: release the identity claims its events named, delete their
 *             claim-checked blobs, delete the events; then each profile's identities and the profile.
 *   settle    wait settleMs: deliveries already in flight, a warm function's identity cache (it may still map an
 *             e-mail to the erased lead for its TTL) and the stream → archive path all drain meanwhile.
 *   sweep     the hot phase again, for whatever landed during the settle.
 *   inbox     (v1.2) LeadConduit's Event Streaming inbox: every object of the org whose key names a member as its lead
 *             (`<prefix>/<lead id>/<event id>.json`, leadIdOfInboxKey), wherever it is (waiting, ingested, set aside, the
 *             reasons beside those), is deleted, page by page (eraseInbox). After the sweep: an object LeadConduit wrote
 *             during the settle was ingested and swept, and its object goes here. The key alone decides (LeadConduit
 *             names its own lead id there, the vars.lead.id the mapping makes lead_id); no object is read.
 *   exports   (v1.2) every export of the org whose file holds (or, still running, may come to hold) a member's
 *             rows is marked `erased` and its file deleted. Which ones: each export's own query over the archive,
 *             narrowed to the members, asked before the archive phase removes those rows (ExportEngine.holdsLeads);
 *             nothing is recorded per export at export time, so no list of lead ids outlives the files.
 *   archive   rewrite the archive files that hold the members' rows (ArchiveEraser).
 *   audit     (v1.2) audit entries naming a member (a path segment or query value that is its id) name the
 *             erasure id instead (AuditLog.renameResource), over the whole retention.
 *   announce  `Lead Erased` on the bus, the audit entry with the counts, completed.
 */
export const ERASURE_PHASES = ['hot', 'settle', 'sweep', 'inbox', 'exports', 'archive', 'audit', 'announce', 'completed'] as const;
export type ErasurePhase = (typeof ERASURE_PHASES)[number];

export interface ErasureCounts {
  leads: number;
  events: number;
  raw_blobs: number;
  identities: number;
  profiles: number;
  archive_rows: number;
  archive_files: number;
  /** Export files deleted (their jobs now `erased`). */
  export_files: number;
  /** Audit entries that named a member and now name the erasure. */
  audit_entries: number;
  /**
   * Objects deleted from LeadConduit's Event Streaming inbox (events waiting or ingested, set-aside copies and their
   * reasons). Absent on jobs requested before the inbox phase existed.
   */
  inbox_objects?: number;
}

const zeroCounts = (): ErasureCounts => ({
  leads: 0, events: 0, raw_blobs: 0, identities: 0, profiles: 0, archive_rows: 0, archive_files: 0, export_files: 0, audit_entries: 0, inbox_objects: 0,
});

/**
 * How a job reads in the API: GET /v1/erasures/{id}. Lead ids as pseudonyms (maskId, idempotent: a completed job
 * already holds them so), the form the bus and the archive hold: no answer names an erased lead in plain.
 */
export function presentErasure(job: ErasureJob) {
  return {
    erasure_id: job.id,
    lead_id: maskId(job.leadId),
    status: job.phase === 'completed' ? 'completed' : 'running',
    phase: job.phase,
    leads: job.members.map(maskId),
    counts: job.counts,
    requested_at: job.requestedAt,
    ...(job.completedAt ? { completed_at: job.completedAt } : {}),
  };
}

export interface ErasureRequestPorts {
  events: EventStore;
  identities: IdentityStore;
  erasures: ErasureStore;
  scheduler: ErasureScheduler;
}

/**
 * Refuses (409 erasure-running) a change to leads whose family an erasure is removing right now: an unmerge accepted
 * then would be undone by the erasure, which erases the family as it was when asked.
 */
export async function refuseWhileErasing(erasures: Pick<ErasureStore, 'ofLead' | 'get'>, orgId: string, leadIds: string[]): Promise<void> {
  for (const leadId of leadIds) {
    const id = await erasures.ofLead(orgId, leadId);
    const job = id === undefined ? undefined : await erasures.get(orgId, id);
    if (job && job.phase !== 'completed') throw new ErasureRunningError(`An erasure of lead '${leadId}' and its family is running (${job.id}); try again once it has completed.`);
  }
}

/**
 * DELETE /v1/leads/{lead_id}: the lead's running erasure if there is one (started again: starting is idempotent),
 * its completed one when nothing of the lead has come back since, else a new job for the lead's whole family.
 * 404 when leadlog holds nothing of the lead.
 */
export async function requestErasure(
  ports: ErasureRequestPorts,
  request: { orgId: string; leadId: string; keyId: string; requestId: string; nowMs: number },
): Promise<ErasureJob> {
  const { orgId, leadId } = request;
  const previousId = await ports.erasures.ofLead(orgId, leadId);
  const previous = previousId ? await ports.erasures.get(orgId, previousId) : undefined;
  if (previous && previous.phase !== 'completed') {
    await ports.scheduler.start(orgId, previous.id);
    return previous;
  }
  const members = await familyOf(ports, orgId, leadId);
  if (members.length === 0) {
    if (previous) return previous;
    throw new NotFoundError(`No lead '${leadId.slice(0, 255)}'.`);
  }
  const job: ErasureJob = {
    orgId, id: `er_${randomUUID().replace(/-/g, '')}`, leadId, members, phase: 'hot', counts: { ...zeroCounts(), leads: members.length },
    requestedAt: new Date(request.nowMs).toISOString(), keyId: request.keyId, requestId: request.requestId,
  };
  const standing = await ports.erasures.create(job, previous?.id);
  await ports.scheduler.start(orgId, standing.id);
  return standing;
}

/**
 * Before anything is erased: a member split off by an unmerge that won the race with this erasure's request (the
 * unmerge answered 200 `changed`) is a family of its own now, live and apart from the requested lead's, and is left out.
 * Only members that still have a profile are judged (one erased already, or never profiled, stays a member).
 */
async function leaveSplitMembers(ports: ErasurePorts, job: ErasureJob): Promise<void> {
  const live = await liveLead(ports.identities, job.orgId, job.leadId);
  const judged = await mapWithConcurrency(job.members, 16, async (member) => followMerges(ports.identities, job.orgId, member));
  const kept = job.members.filter((member, i) => !judged[i]!.profile || judged[i]!.lead === live || member === job.leadId);
  if (kept.length === job.members.length) return;
  job.members = kept;
  job.counts.leads = kept.length;
  await ports.erasures.save(job);
}

/** The lead's family (the live lead it reads as and every lead merged into that one) that leadlog holds anything of. */
async function familyOf(ports: Pick<ErasureRequestPorts, 'events' | 'identities'>, orgId: string, leadId: string): Promise<string[]> {
  const tree = await mergedSubtree(ports.identities, orgId, await liveLead(ports.identities, orgId, leadId));
  const held: string[] = [];
  for (const [member, record] of tree) {
    const named = record.profile || record.identities.length > 0 || record.mentions.length > 0;
    if (named || (await ports.events.erasable(orgId, member)).items.length > 0) held.push(member);
  }
  return held;
}

export interface ErasurePorts {
  events: EventStore;
  identities: IdentityStore;
  blobs: BlobStore;
  erasures: ErasureStore;
  archive: ArchiveEraser;
  /** LeadConduit's Event Streaming inbox (the S3 bucket in AWS, `.data/inbox/` locally): listed and deleted from. */
  inbox: Pick<InboxObjects, 'listOrg' | 'remove'>;
  /** The org's export jobs, and the engine that asks the archive what a job's file holds and deletes it. */
  exports: { store: ExportJobStore; engine: ExportEngine };
  bus: EventBus;
  audit: AuditLog;
  /** Proof of record's log: an erased event keeps its leaf (hashes only), marked erased before the event goes. */
  proofLog: Pick<ProofLogStore, 'markErased'>;
  clock: Clock;
  /** The settle phase's length (ERASURE_SETTLE_SECONDS): at least the identity cache's TTL plus the stream's lag. */
  settleMs: number;
  /** Told after each step that changed the job (the local runner logs progress; a test kills the process on it). */
  onProgress?: (job: ErasureJob) => void;
}

/**
 * Runs an erasure as far as it can go now: completed, or the time to wait before calling again (the settle phase).
 * Safe to call again at any time, concurrently included: every step is idempotent.
 */
export async function runErasure(ports: ErasurePorts, orgId: string, erasureId: string): Promise<{ status: 'completed' } | { waitMs: number }> {
  const job = await ports.erasures.get(orgId, erasureId);
  if (!job) throw new NotFoundError(`No erasure '${erasureId.slice(0, 100)}'.`);
  const advance = async (phase: ErasurePhase, extra: Partial<ErasureJob> = {}) => {
    Object.assign(job, extra, { phase });
    await ports.erasures.save(job);
    ports.onProgress?.(job);
  };
  for (;;) {
    switch (job.phase) {
      case 'hot':
        await leaveSplitMembers(ports, job);
        await eraseHot(ports, job);
        await advance('settle', { settleUntil: new Date(ports.clock.now() + ports.settleMs).toISOString() });
        break;
      case 'settle': {
        const waitMs = Date.parse(job.settleUntil ?? '') - ports.clock.now();
        if (waitMs > 0) return { waitMs };
        await advance('sweep');
        break;
      }
      case 'sweep':
        await eraseHot(ports, job);
        await advance('inbox');
        break;
      case 'inbox':
        await eraseInbox(ports, job);
        // The position names keys (other leads' ids among them): the job keeps none of it once the phase is done.
        delete job.inbox;
        await advance('exports');
        break;
      case 'exports': {
        const files = await eraseExports(ports, job);
        await advance('archive', { counts: { ...job.counts, export_files: files } });
        break;
      }
      case 'archive': {
        // The archive holds each lead id as it leaves DynamoDB, masked (maskId): an e-mail used as a lead id is
        // archived as its pseudonym (keyed; rows written before the key carry legacyMaskId's), so the rows are
        // found by every form (a pseudonym names exactly one id).
        // In slices: one statement names at most ARCHIVE_IDS_PER_STATEMENT ids (Athena refuses a query over 256 KB),
        // whatever the size of the family or the number of events that name it.
        const archived = archivedIdForms(job.members);
        const mentioned = job.mentioned ?? [];
        for (let i = 0; i < Math.max(archived.length, mentioned.length); i += ARCHIVE_IDS_PER_STATEMENT) {
          const removed = await ports.archive.eraseLeads(orgId, archived.slice(i, i + ARCHIVE_IDS_PER_STATEMENT), job.id, mentioned.slice(i, i + ARCHIVE_IDS_PER_STATEMENT));
          job.counts.archive_rows += removed.rows;
          job.counts.archive_files += removed.files;
        }
        await advance('audit');
        break;
      }
      case 'audit': {
        // The whole retention back from now: an entry is kept AUDIT_RETENTION_DAYS after it was written.
        const renamed = await ports.audit.renameResource(orgId, {
          fromMs: ports.clock.now() - AUDIT_MAX_RANGE_DAYS * DAY_MS - DAY_MS, toMs: ports.clock.now() + DAY_MS,
          names: job.members, replacement: job.id,
        });
        await advance('announce', { counts: { ...job.counts, audit_entries: renamed } });
        break;
      }
      case 'announce': {
        const at = new Date(ports.clock.now()).toISOString();
        await announceErasure(ports.bus, leadErasedEntries(job, new Date(at)));
        await ports.audit.record(orgId, { at, key_id: job.keyId, action: 'lead.erased', resource: `erasure/${job.id}`, request_id: job.requestId, detail: { ...job.counts } });
        // The plain ids are no longer needed: the completed job keeps their pseudonyms, in the same write.
        await advance('completed', { completedAt: at, leadId: maskId(job.leadId), members: job.members.map(maskId) });
        break;
      }
      case 'completed':
        return { status: 'completed' };
    }
  }
}

/** A `Lead Erased` entry at most this big (EventBridge's sizing): two fit one PutEvents request, and a target's envelope fits beside one. */
export const LEAD_ERASED_ENTRY_BYTES = 96 * 1024;
/** Tries per announce run for the entries the bus refused, before the phase fails (and runs again). */
const ANNOUNCE_ATTEMPTS = 3;

/**
 * The `Lead Erased` entries of a job: `{org_id, lead_id, erasure_id}` (section 9) with `leads`, the family's ids,
 * masked like every bus entry (section 3; subscribers hold the pseudonyms the bus gave them, so the pseudonym is
 * what lets them erase too). A family whose pseudonyms do not fit one entry is announced in several, each with a
 * slice of `leads` and `part` (1…) of `parts`, each under LEAD_ERASED_ENTRY_BYTES. The same job gives the same
 * entries (the members keep their order), so a subscriber dedupes a rerun by erasure_id + part (absent: 1).
 */
export function leadErasedEntries(job: ErasureJob, time: Date): BusEntry[] {
  const base = { org_id: job.orgId, lead_id: maskId(job.leadId), erasure_id: job.id };
  const entry = (detail: object): BusEntry => ({ Source: BUS_SOURCE, DetailType: LEAD_ERASED_DETAIL_TYPE, Detail: JSON.stringify(detail), Time: time });
  // The entry without leads, its numbers wider than any count of parts: what each slice's pseudonyms (and a comma each) share the budget with.
  const widest = 10 ** 9;
  const room = LEAD_ERASED_ENTRY_BYTES - entrySize(entry({ ...base, part: widest, parts: widest, leads: [] }));
  const slices = chunkBy(job.members.map(maskId), Number.POSITIVE_INFINITY, room, (lead) => Buffer.byteLength(JSON.stringify(lead)) + 1);
  // A family that fits one entry gets the entry as shipped; only a split announcement numbers its parts.
  if (slices.length <= 1) return [entry({ ...base, leads: slices[0] ?? [] })];
  return slices.map((leads, i) => entry({ ...base, leads, part: i + 1, parts: slices.length }));
}

/** Sends the entries in PutEvents requests EventBridge accepts (chunkEntries), retrying refused ones; throws while any is still refused. */
export async function announceErasure(bus: EventBus, entries: BusEntry[]): Promise<void> {
  for (const chunk of chunkEntries(entries)) {
    let pending = chunk;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt === ANNOUNCE_ATTEMPTS) throw new Error('the bus refused Lead Erased; the announce phase runs again');
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      const failed = new Set(await bus.putEvents(pending));
      pending = pending.filter((_, i) => failed.has(i));
    }
  }
}

/**
 * The exports phase: every job of the org that is not failed, whose filter can match a member (a lead_id filter
 * naming another lead cannot) and whose query over the archive finds a member's row, is stored `erased` first
 * (a step still writing it then stops and removes what it wrote, ExportErasedError), then its parts and file are
 * deleted. Returns how many jobs this erasure has erased: a job it marked before a crash is deleted again on the
 * rerun and counted once, so the count stays exact.
 */
async function eraseExports(ports: ErasurePorts, job: ErasureJob): Promise<number> {
  // The archive holds each lead id as it left DynamoDB (maskId, or before the key legacyMaskId): asked by every form,
  // as the archive phase does, in slices a statement holds.
  const forms = archivedIdForms(job.members);
  const mentioned = job.mentioned ?? [];
  let erased = 0;
  for (const candidate of await ports.exports.store.list(job.orgId)) {
    if (candidate.status === 'erased') {
      if (candidate.erasureId !== job.id) continue;
      await ports.exports.engine.discard(candidate);
      erased += 1;
      continue;
    }
    if (candidate.status === 'failed') continue;
    // An export of another lead may still hold leadlog's records naming a member (after an unmerge, a refusal).
    const leadsInScope = candidate.filter.leadId === undefined || job.members.includes(candidate.filter.leadId);
    if (!leadsInScope && mentioned.length === 0) continue;
    if (!(await holdsAny(ports.exports.engine, candidate, leadsInScope ? forms : [], mentioned))) continue;
    await ports.exports.store.save({ ...candidate, status: 'erased', erasureId: job.id, completedAt: new Date(ports.clock.now()).toISOString() });
    await ports.exports.engine.discard(candidate);
    erased += 1;
  }
  return erased;
}

/** Whether the export holds rows of these leads or these events, asked ARCHIVE_IDS_PER_STATEMENT ids at a time. */
async function holdsAny(engine: ExportEngine, job: ExportJob, leadForms: readonly string[], eventIds: readonly string[]): Promise<boolean> {
  for (let i = 0; i < Math.max(leadForms.length, eventIds.length); i += ARCHIVE_IDS_PER_STATEMENT) {
    if (await engine.holdsLeads(job, leadForms.slice(i, i + ARCHIVE_IDS_PER_STATEMENT), eventIds.slice(i, i + ARCHIVE_IDS_PER_STATEMENT))) return true;
  }
  return false;
}

/** Inbox keys listed per page: ListObjectsV2's most per call, and DeleteObjects' most per call. */
export const INBOX_KEYS_PER_PAGE = 1000;
const keyDigest = (key: string) => sha256Hex(key).slice(0, 16);

/**
 * The inbox phase: the org's objects page by page in key order, each page's family objects counted (saved as the
 * page under way, `job.inbox`) and then deleted, then the position moved past the page. A rerun after a crash lists
 * from the saved position again: a page under way ends where it ended (`to`) and only its keys not counted then are
 * counted now, so the count stays exact; objects already deleted are simply not listed. A page under way that grew
 * past one listing (objects written into it since) is taken a listing at a time up to its end.
 */
async function eraseInbox(ports: ErasurePorts, job: ErasureJob): Promise<void> {
  const members = new Set(job.members);
  const ofFamily = (key: string) => {
    const lead = leadIdOfInboxKey(key);
    return lead !== undefined && members.has(lead);
  };
  for (;;) {
    const { after, to, counted = [] } = job.inbox ?? {};
    const page = await ports.inbox.listOrg(job.orgId, after, INBOX_KEYS_PER_PAGE);
    const keys = to === undefined ? page.keys : page.keys.filter((key) => inboxKeyOrder(key, to) <= 0);
    const end = to ?? page.keys.at(-1);
    if (end === undefined) return; // nothing (more) to list
    const family = keys.filter(ofFamily);
    if (family.length > 0) {
      const seen = new Set(counted);
      const fresh = family.map(keyDigest).filter((digest) => !seen.has(digest));
      job.counts.inbox_objects = (job.counts.inbox_objects ?? 0) + fresh.length;
      job.inbox = { ...(after === undefined ? {} : { after }), to: end, counted: [...counted, ...fresh] };
      await ports.erasures.save(job);
      ports.onProgress?.(job);
      await ports.inbox.remove(family);
    }
    // A listing that stopped short of the page's end (the page grew): the rest of the same page comes next.
    const short = page.next !== undefined && keys.length === page.keys.length && keys.length > 0 && inboxKeyOrder(keys.at(-1)!, end) < 0;
    job.inbox = short ? { after: keys.at(-1)!, to: end, counted: job.inbox?.counted ?? [] } : { after: end };
    await ports.erasures.save(job);
    if (!short && page.next === undefined && keys.length === page.keys.length) return;
  }
}

const EVENTS_PER_PAGE = 100;
/**
 * How many ids (lead id forms, or event ids) one archive erase statement names: ids are at most ~1 KB in UTF-8 (a
 * 255-character lead id), so 200 keep a statement well under Athena's 262,144-byte query limit.
 */
const ARCHIVE_IDS_PER_STATEMENT = 200;

/**
 * Every member's events (with the claims they named and their blobs), then every member's profile. Each step is
 * planned first: what it will delete is counted and saved as the job's `pending` step, then deleted. A run resumed
 * after a crash meets that step's leftovers first and does not count them again, so the counts stay exact.
 */
async function eraseHot(ports: ErasurePorts, job: ErasureJob): Promise<void> {
  const { orgId, members } = job;
  const memberDigests = new Set(members.map(leadDigest));
  for (const leadId of members) {
    let after: Record<string, unknown> | undefined;
    do {
      const page = await ports.events.erasable(orgId, leadId, after, EVENTS_PER_PAGE);
      if (page.items.length > 0) {
        // Claims and blobs before the events: once an event is gone, nothing would point at them any more.
        const claims = await ownedClaims(ports, job, page.items.flatMap((event) => event.identityDigests));
        await plan(ports, job, { events: page.items, claims: [...claims.keys()], profiles: [] });
        for (const [digest, owner] of claims) await ports.identities.release(orgId, digest, owner);
        for (const key of page.items.flatMap((event) => event.blobKeys)) await ports.blobs.delete(key);
        await ports.proofLog.markErased(orgId, page.items.map((event) => event.id), new Date(ports.clock.now()).toISOString());
        await ports.events.remove(orgId, page.items.map((event) => event.id));
      }
      after = page.next;
    } while (after);
  }
  for (const leadId of members) {
    const record = await ports.identities.lead(orgId, leadId);
    if (!record.profile && record.identities.length === 0 && record.mergedFrom.length === 0 && record.mentions.length === 0) continue;
    const claims = await ownedClaims(ports, job, record.identities.map(identityDigest));
    // Events on leads outside the family that name this one (after an unmerge, or a refusal): they go too.
    const outside = record.mentions.filter((mention) => !memberDigests.has(mention.leadDigest)).map((mention) => mention.eventId);
    const mentioned = (await mapWithConcurrency(outside, 16, (id) => ports.events.get(orgId, id, ports.clock.now()))).flatMap((event) => (event ? [event.id] : []));
    job.mentioned = [...new Set([...(job.mentioned ?? []), ...outside])];
    await plan(ports, job, { events: mentioned.map((id) => ({ id, blobKeys: [], identityDigests: [] })), claims: [...claims.keys()], profiles: [leadId] });
    await ports.proofLog.markErased(orgId, mentioned, new Date(ports.clock.now()).toISOString());
    await ports.events.remove(orgId, mentioned);
    for (const [digest, owner] of claims) await ports.identities.release(orgId, digest, owner);
    await ports.identities.removeProfile(orgId, leadId);
  }
  delete job.pending;
}

/** The claims among these identity digests that a member of the family holds (digest → that lead). */
async function ownedClaims(ports: ErasurePorts, job: ErasureJob, digests: string[]): Promise<Map<string, string>> {
  const owners = await ports.identities.owners(job.orgId, [...new Set(digests)]);
  return new Map([...owners].filter(([, owner]) => job.members.includes(owner)));
}

/** Counts what a step is about to delete (less what the interrupted step before it already counted) and saves it. */
async function plan(ports: ErasurePorts, job: ErasureJob, step: { events: ErasableEvent[]; claims: string[]; profiles: string[] }): Promise<void> {
  const counted = job.pending ?? { events: [], claims: [], profiles: [] };
  const fresh = <T>(items: T[], key: (item: T) => string, seen: string[]) => items.filter((item) => !seen.includes(key(item)));
  const events = fresh(step.events, (event) => event.id, counted.events);
  job.counts.events += events.length;
  job.counts.raw_blobs += events.reduce((sum, event) => sum + event.blobKeys.length, 0);
  job.counts.identities += fresh(step.claims, String, counted.claims).length;
  job.counts.profiles += fresh(step.profiles, String, counted.profiles).length;
  job.pending = { events: step.events.map((event) => event.id), claims: step.claims, profiles: step.profiles };
  await ports.erasures.save(job);
  ports.onProgress?.(job);
}
