import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { localEnvironment } from '../../infra/local/settings.js';

// Every test process talks to the run's DynamoDB Local exactly as `npm start` does: same environment variables.
const dataDir = mkdtempSync(join(tmpdir(), 'leadlog-test-'));
Object.assign(process.env, localEnvironment(inject('dynamoEndpoint'), inject('tableNames'), dataDir), {
  POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'SILENT',
});
