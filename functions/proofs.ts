import { defaultDependencies, type Dependencies } from '../shared/adapters/container.js';
import { evidenceOf, type EvidencePorts } from '../shared/domain/evidence-bundle.js';
import { consistencyOf, listCheckpoints, parseConsistencyParams, proofOfEvent } from '../shared/domain/proof-log.js';
import { parseOrThrow } from '../shared/domain/schema.js';
import { UUID_PATTERN } from '../shared/domain/ids.js';
import { evidenceParams } from '../shared/domain/proof-log.js';
import { NotFoundError } from '../shared/domain/errors.js';
import { builtOnFirstCall, createHttpHandler, readerOf, viewerOf } from '../shared/http/handler.js';
import { json, type HttpEvent, type RequestState } from '../shared/http/middleware.js';

const params = (event: HttpEvent) => event.queryStringParameters ?? {};
const pathParam = (event: HttpEvent, name: string) => event.pathParameters?.[name] ?? '';

/** Proof of record's routes (contract section 14): an event's inclusion proof, checkpoints, consistency, the public key, evidence. */
export function createProofsHandler(deps: Dependencies) {
  const { proofLog: store, checkpointSigner: signer } = deps;
  const interval = deps.config.checkpointIntervalSeconds;
  const evidencePorts = (state: RequestState): EvidencePorts => ({
    reads: { store: deps.events, cursors: deps.cursors, signal: state.signal }, events: deps.events, identities: deps.identities, erasures: deps.erasures,
    store, publicKeyPem: () => signer.publicKeyPem(), keyId: () => signer.keyId(), checkpointIntervalSeconds: interval,
  });
  return createHttpHandler('proofs', {
    'GET /v1/events/{id}/proof': async (event, state) => {
      const id = pathParam(event, 'id');
      if (!UUID_PATTERN.test(id)) throw new NotFoundError(`No event ${id.slice(0, 100)}.`);
      const viewer = viewerOf(state);
      const orgId = viewer.orgId;
      const proof = await proofOfEvent({
        store, checkpointIntervalSeconds: interval,
        storedEvent: async (org, eventId) => {
          const [record] = await deps.events.records(org, [eventId], deps.clock.now());
          return record ? { event: record.event, recordHash: record.contentHash } : undefined;
        },
      }, orgId, id.toLowerCase());
      // The leaf names the lead id unmasked: a key without pii:read gets the leaf hash and its proof only.
      return json(200, viewer.canSeePii ? proof : { ...proof, leaf: null });
    },
    'GET /v1/proofs/checkpoints': async (event, state) => json(200, await listCheckpoints(store, viewerOf(state).orgId, params(event), deps.clock.now())),
    'GET /v1/proofs/consistency': async (event, state) => {
      const { fromSize, toSize } = parseConsistencyParams(params(event));
      return json(200, await consistencyOf(store, viewerOf(state).orgId, fromSize, toSize));
    },
    'GET /v1/proofs/public-key': async () => ({
      statusCode: 200, headers: { 'content-type': 'application/x-pem-file', 'cache-control': 'public, max-age=300' }, body: await signer.publicKeyPem(),
    }),
    'GET /v1/leads/{lead_id}/evidence': async (event, state) => {
      parseOrThrow(evidenceParams, params(event));
      const bundle = await evidenceOf(evidencePorts(state), await readerOf(state, deps.maskOptions), pathParam(event, 'lead_id'), params(event), deps.clock.now());
      return json(200, bundle, { 'content-disposition': `attachment; filename="leadlog-evidence.json"` });
    },
  }, { limiter: () => deps.rateLimiter, audit: () => deps.audit, clock: deps.clock });
}

export const handler = builtOnFirstCall(() => createProofsHandler(defaultDependencies('proofs')));
