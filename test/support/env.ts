import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { localEnvironment } from '../../infra/local/settings.js';
import { configurePseudonymKey } from '../../shared/domain/masking.js';
import { configureSealKey } from '../../shared/domain/proofs.js';
import { localStandIns } from '../../shared/adapters/local-stand-ins.js';
import { LocalCheckpointArchive } from '../../infra/local/local-checkpoint-archive.js';
import { LocalCheckpointSigner } from '../../infra/local/local-checkpoint-signer.js';
import { checkResponse } from './openapi-validator.js';

// Every test process talks to the run's DynamoDB Local exactly as `npm start` does: same environment variables.
const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-test-'));
Object.assign(process.env, localEnvironment(inject('dynamoEndpoint'), inject('tableNames'), dataDir), {
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
});
// As npm start does (and each masking function at its cold start): the pseudonym key, before anything is masked.
configurePseudonymKey(process.env.PSEUDONYM_SECRET!);
configureSealKey(process.env.PSEUDONYM_SECRET!); // and the seal of each event written (proof of record), keyed from it
// As npm start does: checkpoints signed with a key file and archived in the test process's data folder.
localStandIns.checkpointSigner = new LocalCheckpointSigner(process.env.PROOF_KEY_FILE!);
localStandIns.checkpointArchive = new LocalCheckpointArchive(process.env.CHECKPOINT_ARCHIVE_DIR!);

// Every answer any test receives from a local API (a /v1/ path on this machine) is checked against the OpenAPI
// document; one that does not match fails the request, and so the test that made it.
const fetchAsSent = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const response = await fetchAsSent(input, init);
  const url = new URL(input instanceof Request ? input.url : String(input));
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) || !url.pathname.startsWith('/v1/')) return response;
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const problem = checkResponse(method, url.pathname, response.status, response.headers.get('content-type'), await response.clone().text());
  if (problem) throw new Error(`The answer does not match GET /v1/openapi.json: ${problem}`);
  return response;
};
