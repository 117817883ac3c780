import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, inject } from 'vitest';
import { LocalBus } from '../../infra/local/local-bus.js';
import { LocalCheckpointArchive } from '../../infra/local/local-checkpoint-archive.js';
import { LocalCheckpointSigner } from '../../infra/local/local-checkpoint-signer.js';
import { StreamPoller } from '../../infra/local/stream-poller.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../shared/adapters/aws-clients.js';
import { createIntegratorPorts } from '../../shared/adapters/container.js';
import { localStandIns } from '../../shared/adapters/local-stand-ins.js';
import { auditOrg } from '../../shared/domain/log-audit.js';
import { integrateOrg, type IntegrateOptions, type IntegrateResult, type IntegratorPorts } from '../../shared/domain/proof-log.js';
import { createFanoutHandler } from '../../shared/stream/handler.js';
import { startTestApi, type TestApi } from './api.js';

/**
 * Proof of record's test bench, one per test file: the API in process, checkpoints signed with a key of the file's
 * own (its folder is the write-once archive), the events table's stream drained through the real fan-out into the
 * log, and the integrator run on demand (checkpoint due at once).
 */
export interface ProofLogBench {
  dir: string;
  signer: LocalCheckpointSigner;
  documents: DynamoDBDocumentClient;
  eventsTable: string;
  logTable: string;
  /** Set before the file's own beforeAll hooks run. */
  api: TestApi;
  ports: IntegratorPorts;
  drain(): Promise<void>;
  integrate(orgId: string, options?: Partial<IntegrateOptions>, ports?: IntegratorPorts): Promise<IntegrateResult>;
  audit(orgId: string, nowMs?: number): ReturnType<typeof auditOrg>;
}

export function useProofLog(prefix: string): ProofLogBench {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const signer = new LocalCheckpointSigner(join(dir, 'key.pem'));
  const bench: ProofLogBench = {
    dir,
    signer,
    documents: createDocumentClient({ endpoint: inject('dynamoEndpoint') }),
    eventsTable: inject('tableNames').events!,
    logTable: inject('tableNames').log!,
    api: undefined as unknown as TestApi,
    ports: undefined as unknown as IntegratorPorts,
    /** The events table's stream since the last drain, through the real fan-out (a LocalBus; the real log store). */
    drain: async (): Promise<void> => {
      await new StreamPoller({
        endpoint: inject('dynamoEndpoint'), tableName: bench.eventsTable, batchSize: 1000, checkpointFile: join(dir, 'stream.json'),
        handler: createFanoutHandler({ bus: new LocalBus({ rules: [] }), proofLog: bench.api.deps.proofLog }),
      }).drain();
    },
    integrate: (orgId: string, options: Partial<IntegrateOptions> = {}, ports: IntegratorPorts = bench.ports): Promise<IntegrateResult> =>
      integrateOrg(ports, orgId, { owner: `test-${randomUUID()}`, nowMs: Date.now, leaseMs: 30_000, checkpointIntervalSeconds: 0, maxLeaves: 10_000, ...options }),
    audit: async (orgId: string, nowMs = Date.now()): ReturnType<typeof auditOrg> =>
      auditOrg({ store: bench.api.deps.proofLog, events: bench.api.deps.events }, orgId, { publicKeyPem: await signer.publicKeyPem(), nowMs, checkpointIntervalMs: 10_000 }),
  };
  beforeAll(async () => {
    localStandIns.checkpointSigner = signer;
    localStandIns.checkpointArchive = new LocalCheckpointArchive(dir);
    bench.api = await startTestApi();
    bench.ports = createIntegratorPorts(bench.api.deps);
  });
  afterAll(async () => {
    await bench.api.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return bench;
}
