import { PutRecordBatchCommand, type FirehoseClient } from '@aws-sdk/client-firehose';
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { redeliverErrors, streamOfRecord } from '../../shared/adapters/archive-redelivery.js';
import { FirehoseArchive, routeRows } from '../../shared/adapters/firehose-archive.js';
import {
  ARCHIVE_HEADROOM, ARCHIVE_ROW_BYTES, ARCHIVE_STREAMS, FIREHOSE_ACTIVE_PARTITIONS_DEFAULT, FIREHOSE_ACTIVE_PARTITIONS_MAX, FIREHOSE_STREAM_BYTES_PER_SECOND,
  FIREHOSE_STREAMS_PER_REGION_DEFAULT, activePartitionsPerStream, archiveStreamOf, archiveStreamsFor, archiveStreamsForOrg, orgsOnFullestStream,
} from '../../shared/definitions/archive.js';
import type { ArchiveRow } from '../../shared/domain/ports.js';

const orgIds = (n: number) => Array.from({ length: n }, (_, i) => `org_${i.toString(36)}_${(i * 2654435761 >>> 0).toString(16)}`);
const row = (org: string, id: string, dt = '2026-11-23'): ArchiveRow => ({ id, org_id: org, dt, event_type: 'source.submitted' });

describe('the archive stream plan (contract section 15: Firehose partitions at 10,000 orgs)', () => {
  it('one stream, as today, holds 20,000 active partitions at 10,000 orgs: 40 times its default quota', () => {
    expect(activePartitionsPerStream(10_000, 1)).toBe(20_000);
    expect(activePartitionsPerStream(10_000, 1)).toBeGreaterThan(FIREHOSE_ACTIVE_PARTITIONS_MAX);
    // The quota is exceeded from about 250 orgs (two days each around midnight).
    expect(activePartitionsPerStream(251, 1)).toBeGreaterThan(FIREHOSE_ACTIVE_PARTITIONS_DEFAULT);
  });

  it('plans K streams that keep the fullest one under half of each quota at both section 15 targets', () => {
    for (const [orgs, rate] of [[10_000, 1], [1, 10_000], [2_000, 5]] as const) {
      const streams = archiveStreamsFor(orgs, rate);
      const orgStreams = archiveStreamsForOrg(rate);
      expect(activePartitionsPerStream(orgs, streams, { orgStreams }), `${orgs} orgs`).toBeLessThanOrEqual(FIREHOSE_ACTIVE_PARTITIONS_MAX * ARCHIVE_HEADROOM);
      expect((orgs * rate * ARCHIVE_ROW_BYTES) / streams, `${orgs} orgs`).toBeLessThanOrEqual(FIREHOSE_STREAM_BYTES_PER_SECOND * ARCHIVE_HEADROOM);
      expect(streams - 1 < 1 || activePartitionsPerStream(orgs, streams - 1, { orgStreams }) > FIREHOSE_ACTIVE_PARTITIONS_MAX * ARCHIVE_HEADROOM
        || (orgs * rate * ARCHIVE_ROW_BYTES) / (streams - 1) > FIREHOSE_STREAM_BYTES_PER_SECOND * ARCHIVE_HEADROOM, 'the fewest streams').toBe(true);
    }
    expect(ARCHIVE_STREAMS).toBe(Math.max(archiveStreamsFor(10_000, 1), archiveStreamsFor(1, 10_000)));
    expect(ARCHIVE_STREAMS).toBeLessThanOrEqual(FIREHOSE_STREAMS_PER_REGION_DEFAULT);
    // Without the active-partition increase the plan needs more streams than an account has by default.
    expect(archiveStreamsFor(10_000, 1, { partitionQuota: FIREHOSE_ACTIVE_PARTITIONS_DEFAULT })).toBeGreaterThan(FIREHOSE_STREAMS_PER_REGION_DEFAULT);
    // One org at 10,000 events/s of 2 KB is 20 MB/s: more than one stream's 5 MiB/s, spread over streams by event id.
    expect(archiveStreamsForOrg(10_000)).toBeGreaterThan(1);
    expect(archiveStreamsForOrg(1)).toBe(1);
  });

  it('places real org ids by the hash within the planned bound (10,000 orgs over ARCHIVE_STREAMS streams)', () => {
    const counts = new Array<number>(ARCHIVE_STREAMS).fill(0);
    for (const org of orgIds(10_000)) counts[archiveStreamOf(org, 'any', ARCHIVE_STREAMS)]!++;
    expect(Math.max(...counts)).toBeLessThanOrEqual(orgsOnFullestStream(10_000, ARCHIVE_STREAMS));
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('sends each event to exactly one stream, the same on every retry; an org occupies only its planned streams', () => {
    for (const org of orgIds(200)) {
      const single = new Set(Array.from({ length: 50 }, (_, i) => archiveStreamOf(org, `e${i}`, 9)));
      expect(single.size).toBe(1); // an ordinary org: one stream, whatever the event
      const spread = new Set(Array.from({ length: 400 }, (_, i) => archiveStreamOf(org, `e${i}`, 9, 3)));
      expect(spread.size).toBe(3); // a large org: exactly its 3 streams, consecutive from its home stream
      const home = archiveStreamOf(org, 'x', 9);
      expect([...spread].sort()).toEqual([home, (home + 1) % 9, (home + 2) % 9].sort());
      for (let i = 0; i < 20; i++) {
        const stream = archiveStreamOf(org, `e${i}`, 9, 3);
        expect(stream).toBeGreaterThanOrEqual(0);
        expect(stream).toBeLessThan(9);
        expect(archiveStreamOf(org, `e${i}`, 9, 3)).toBe(stream);
      }
    }
    expect(archiveStreamOf('org_a', 'e1', 1, 5)).toBe(0);
    expect(archiveStreamOf('org_a', 'e1', 4, 99)).toBeLessThan(4); // a spread wider than the streams is every stream
  });
});

/** A Firehose client that records every PutRecordBatch and refuses what `refuse` says. */
function fakeFirehose(refuse: { stream?: string; throwing?: boolean } = {}) {
  const calls: { stream: string; rows: ArchiveRow[][] }[] = [];
  const client = {
    send: async (command: PutRecordBatchCommand) => {
      const stream = command.input.DeliveryStreamName!;
      const records = command.input.Records!.map((r) => Buffer.from(r.Data!).toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as ArchiveRow));
      if (stream === refuse.stream && refuse.throwing) throw Object.assign(new Error('slow down'), { name: 'ServiceUnavailableException' });
      calls.push({ stream, rows: records });
      const refused = stream === refuse.stream;
      return { FailedPutCount: refused ? records.length : 0, RequestResponses: records.map(() => (refused ? { ErrorCode: 'ServiceUnavailableException' } : { RecordId: 'r' })) };
    },
  };
  return { client: client as unknown as FirehoseClient, calls };
}

describe('the Firehose archive sink over K streams', () => {
  const streams = ['s0', 's1', 's2', 's3', 's4'];
  const rows = orgIds(40).flatMap((org, o) => Array.from({ length: 6 }, (_, i) => row(org, `${o}-${i}`, i % 2 ? '2026-11-23' : '2026-11-22')));

  it("routes every row to its org's stream by archiveStreamOf, each row sent once, never mixing streams in a record", async () => {
    const { client, calls } = fakeFirehose();
    const failed = await new FirehoseArchive(client, streams).putRows(rows);
    expect(failed).toEqual([]);
    const sent = calls.flatMap((call) => call.rows.flat().map((r) => ({ stream: call.stream, id: r.id as string, org: r.org_id as string })));
    expect(sent.map((s) => s.id).sort()).toEqual(rows.map((r) => r.id as string).sort());
    for (const s of sent) expect(s.stream).toBe(streams[archiveStreamOf(s.org, s.id, streams.length)]);
    expect(new Set(calls.map((c) => c.stream)).size).toBe(calls.length); // one call per stream touched
    for (const call of calls) for (const record of call.rows) expect(new Set(record.map((r) => `${r.org_id}/${r.dt}`)).size).toBe(1);
  });

  it('spreads an org the plan says is large over its streams by event id', async () => {
    const { client, calls } = fakeFirehose();
    const big = Array.from({ length: 300 }, (_, i) => row('org_big', `b${i}`));
    await new FirehoseArchive(client, streams, (org) => (org === 'org_big' ? 3 : 1)).putRows(big);
    expect(calls).toHaveLength(3);
    for (const call of calls) for (const r of call.rows.flat()) expect(call.stream).toBe(streams[archiveStreamOf('org_big', r.id as string, 5, 3)]);
  });

  it("fails only the refused stream's rows, as indexes into the caller's rows", async () => {
    for (const throwing of [false, true]) {
      const { client } = fakeFirehose({ stream: 's2', throwing });
      const failed = await new FirehoseArchive(client, streams).putRows(rows);
      const expected = rows.flatMap((r, i) => (archiveStreamOf(r.org_id as string, r.id as string, 5) === 2 ? [i] : []));
      expect(expected.length).toBeGreaterThan(0);
      expect(failed).toEqual(expected);
    }
  });

  it('groups rows by stream in their order (routeRows)', async () => {
    const groups = await routeRows(rows, 5);
    expect([...groups.values()].flat().sort((a, b) => a - b)).toEqual(rows.map((_, i) => i));
    for (const indexes of groups.values()) expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  });

  it('refuses to start without its streams', () => {
    expect(() => new FirehoseArchive(fakeFirehose().client, [])).toThrow(/delivery streams/);
  });
});

describe('re-feeding the shared error prefix into K streams', () => {
  it("sends each record back to its org's home stream", async () => {
    const packed = (org: string, id: string) => Buffer.from(`${JSON.stringify(row(org, id))}\n${JSON.stringify(row(org, `${id}-2`))}\n`);
    const records = orgIds(30).map((org, i) => ({ org, id: `e${i}`, data: packed(org, `e${i}`) }));
    for (const r of records) expect(streamOfRecord(r.data, 5)).toBe(archiveStreamOf(r.org, r.id, 5));
    expect(streamOfRecord(Buffer.from('not json'), 5)).toBe(0);

    const errorObject = records.map((r) => JSON.stringify({ errorCode: 'DynamicPartitioning.PartitionCountExceeded', rawData: r.data.toString('base64') })).join('\n');
    const deleted: string[] = [];
    const s3 = {
      send: async (command: unknown) => {
        if (command instanceof ListObjectsV2Command) return { Contents: [{ Key: 'errors/partition-failed/dt=2026-11-23/obj-1' }] };
        if (command instanceof GetObjectCommand) return { Body: { transformToString: async () => errorObject } };
        if (command instanceof DeleteObjectsCommand) deleted.push(...command.input.Delete!.Objects!.map((o) => o.Key!));
        return {};
      },
    } as unknown as S3Client;
    const { client, calls } = fakeFirehose();
    const result = await redeliverErrors({ s3, firehose: client }, { bucket: 'b', streams: ['s0', 's1', 's2', 's3', 's4'] });
    expect(result).toEqual({ objects: 1, records: 30 });
    expect(deleted).toEqual(['errors/partition-failed/dt=2026-11-23/obj-1']);
    const sent = calls.flatMap((call) => call.rows.map((record) => ({ stream: call.stream, org: record[0]!.org_id as string, id: record[0]!.id as string })));
    expect(sent).toHaveLength(30);
    for (const s of sent) expect(s.stream).toBe(`s${archiveStreamOf(s.org, s.id, 5)}`);
  });
});
