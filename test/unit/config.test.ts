import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../shared/config.js';
import { environmentVariables, functionEnvironment, functionVariables, type FunctionName } from '../../shared/definitions/environment.js';

describe('the environment contract', () => {
  it('names every missing variable of a function at once, and nothing it does not read', () => {
    expect(() => loadConfig('fanout', {})).toThrow(/EVENT_BUS_NAME is required; CONTROL_TABLE_NAME is required; ARCHIVE_STREAM_NAMES is required/);
    expect(() => loadConfig('ingest', {})).toThrow(/EVENTS_TABLE_NAME is required; CONTROL_TABLE_NAME is required; RAW_PAYLOAD_BUCKET \(AWS\) or BLOB_DIR \(local\) is required/);
    expect(() => loadConfig('health', {})).not.toThrow();
    expect(loadConfig('authorizer', { CONTROL_TABLE_NAME: 'control' }).controlTableName).toBe('control');
  });

  it('parses types and defaults, and reports a malformed value by name', () => {
    const config = loadConfig('webhooks', { EVENTS_TABLE_NAME: 'e', CONTROL_TABLE_NAME: 'c', BLOB_DIR: '/tmp/b', PSEUDONYM_SECRET: 'p'.repeat(32) });
    expect(config.webhookSecretCacheSeconds).toBe(60);
    expect(config.region).toBe('us-east-1');
    expect(config.rawPayloadBucket).toBeUndefined();
    expect(() => loadConfig(undefined, { WEBHOOK_SECRET_CACHE_SECONDS: '-1', DYNAMODB_ENDPOINT: 'localhost:8000' }))
      .toThrow(/WEBHOOK_SECRET_CACHE_SECONDS must be whole seconds, 0..3600; DYNAMODB_ENDPOINT must be an http\(s\) URL/);
  });

  it('reads the archive streams as an ordered list of names, refusing an empty or repeated one (an index into it picks a stream)', () => {
    const env = { EVENT_BUS_NAME: 'bus', CONTROL_TABLE_NAME: 'c', LOG_TABLE_NAME: 'l', PSEUDONYM_SECRET: 'p'.repeat(32) };
    expect(loadConfig('fanout', { ...env, ARCHIVE_STREAM_NAMES: 'fh-0, fh-1,fh-2' }).archiveStreamNames).toEqual(['fh-0', 'fh-1', 'fh-2']);
    expect(loadConfig('fanout', { ...env, ARCHIVE_STREAM_NAMES: 'fh' }).archiveStreamNames).toEqual(['fh']);
    for (const bad of ['fh-0,,fh-2', 'fh-0,fh-0', 'fh-0,']) {
      expect(() => loadConfig('fanout', { ...env, ARCHIVE_STREAM_NAMES: bad }), bad).toThrow(/ARCHIVE_STREAM_NAMES must be comma-separated names/);
    }
  });

  it("throws a ConfigError naming a variable read outside the function's contract", () => {
    const config = loadConfig('authorizer', { CONTROL_TABLE_NAME: 'control' });
    expect(() => config.eventsTableName).toThrow(ConfigError);
    expect(() => config.eventsTableName).toThrow(/EVENTS_TABLE_NAME is required here \(not in the authorizer function's contract\)/);
  });

  it("gives each deployed function exactly its contract's AWS variables", () => {
    const deployed = {
      EVENTS_TABLE_NAME: 'e', CONTROL_TABLE_NAME: 'c', RAW_PAYLOAD_BUCKET: 'b', EVENT_BUS_NAME: 'bus', ARCHIVE_STREAM_NAMES: 'fh',
      ERASURE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:1:stateMachine:x', ARCHIVE_BUCKET: 'a', ARCHIVE_DATABASE: 'd', ATHENA_WORKGROUP: 'w',
      EXPORT_BUCKET: 'x', EXPORT_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:1:stateMachine:e', REPLAY_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:1:stateMachine:r',
      CURSOR_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:cursor',
      PSEUDONYM_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:pseudonym',
      LEADCONDUIT_INBOX_BUCKET: 'inbox',
      LOG_TABLE_NAME: 'log', CHECKPOINT_KEY_ARN: 'arn:aws:kms:us-east-1:1:key/k', CHECKPOINT_BUCKET_NAME: 'checkpoints',
    };
    for (const fn of Object.keys(functionVariables) as FunctionName[]) {
      const block = functionEnvironment(fn, deployed);
      const expected = functionVariables[fn].filter((name) => environmentVariables[name].setBy === 'aws');
      expect(Object.keys(block).sort(), fn).toEqual([...expected].sort());
      // What CDK sets is enough for the function to start.
      expect(() => loadConfig(fn, block), fn).not.toThrow();
    }
  });

  it('fails fast without the cursor secret (its Secrets Manager ARN, or the secret locally) where cursors are made, or with a short one', () => {
    const tables = { EVENTS_TABLE_NAME: 'e', CONTROL_TABLE_NAME: 'c', LOG_TABLE_NAME: 'l', BLOB_DIR: '/tmp/b', PSEUDONYM_SECRET: 'p'.repeat(32) };
    for (const fn of ['query', 'admin'] as const) {
      expect(() => loadConfig(fn, tables), fn).toThrow(/CURSOR_SECRET_ARN \(AWS\) or CURSOR_SECRET \(local\) is required/);
      expect(loadConfig(fn, { ...tables, CURSOR_SECRET: 'x'.repeat(32) }).cursorSecret, fn).toBe('x'.repeat(32));
    }
    expect(() => loadConfig('query', { ...tables, CURSOR_SECRET: 'x'.repeat(31) })).toThrow(/CURSOR_SECRET must be at least 32 characters/);
    expect(() => loadConfig('ingest', tables)).not.toThrow();
  });

  it('fails fast without the pseudonym key (its Secrets Manager ARN, or the key locally) in every function that masks, or with a short one', () => {
    const base = { EVENTS_TABLE_NAME: 'e', CONTROL_TABLE_NAME: 'c', LOG_TABLE_NAME: 'l', BLOB_DIR: '/tmp/b', CURSOR_SECRET: 'c'.repeat(32) };
    /** What loadConfig refuses for this function and environment ('' when nothing). */
    const refused = (fn: FunctionName, env: Record<string, string>) => {
      try {
        loadConfig(fn, env);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    // Where events are written too (ingest, webhooks, LeadConduit's inbox and pull): the seal of each item is keyed from
    // it; and proof of record's integrator, which appends only queue items whose seal verifies.
    for (const fn of ['query', 'admin', 'replays', 'replayer', 'exporter', 'fanout', 'erasure', 'ingest', 'webhooks', 'leadconduitInbox', 'leadconduitPull', 'proofLog'] as const) {
      expect(refused(fn, base), fn).toMatch(/PSEUDONYM_SECRET_ARN \(AWS\) or PSEUDONYM_SECRET \(local\) is required/);
      expect(refused(fn, { ...base, PSEUDONYM_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:p' }), fn).not.toMatch(/PSEUDONYM/);
      expect(refused(fn, { ...base, PSEUDONYM_SECRET: 'p'.repeat(32) }), fn).not.toMatch(/PSEUDONYM/);
      expect(refused(fn, { ...base, PSEUDONYM_SECRET: 'p'.repeat(31) }), fn).toMatch(/PSEUDONYM_SECRET must be at least 32 characters/);
    }
    expect(loadConfig('query', { ...base, PSEUDONYM_SECRET: 'p'.repeat(32) }).pseudonymSecret).toBe('p'.repeat(32));
    for (const fn of ['authorizer', 'health'] as const) expect(refused(fn, base), fn).not.toMatch(/PSEUDONYM/);
  });

  it("gives proof of record's integrator its key (KMS or a key file), its archive (the bucket or a folder) and the log table, and the interval", () => {
    const refused = (env: Record<string, string>) => {
      try {
        loadConfig('proofLog', env);
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(refused({})).toMatch(/LOG_TABLE_NAME is required; CHECKPOINT_KEY_ARN \(AWS\) or PROOF_KEY_FILE \(local\) is required; CHECKPOINT_BUCKET_NAME \(AWS\) or CHECKPOINT_ARCHIVE_DIR \(local\) is required/);
    const secret = { PSEUDONYM_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:p' };
    const aws = loadConfig('proofLog', { LOG_TABLE_NAME: 'log', CHECKPOINT_KEY_ARN: 'arn:aws:kms:us-east-1:1:key/k', CHECKPOINT_BUCKET_NAME: 'b', ...secret });
    expect([aws.checkpointKeyArn, aws.checkpointBucketName, aws.proofKeyFile, aws.checkpointIntervalSeconds]).toEqual(['arn:aws:kms:us-east-1:1:key/k', 'b', undefined, 300]);
    const local = loadConfig('proofLog', { LOG_TABLE_NAME: 'log', PROOF_KEY_FILE: '/d/proof-signing-key.pem', CHECKPOINT_ARCHIVE_DIR: '/d', CHECKPOINT_INTERVAL_SECONDS: '10', PSEUDONYM_SECRET: 'p'.repeat(32) });
    expect([local.proofKeyFile, local.checkpointArchiveDir, local.checkpointIntervalSeconds]).toEqual(['/d/proof-signing-key.pem', '/d', 10]);
    expect(refused({ LOG_TABLE_NAME: 'log', PROOF_KEY_FILE: '/k', CHECKPOINT_ARCHIVE_DIR: '/d', CHECKPOINT_INTERVAL_SECONDS: '10.5', ...secret })).toMatch(/CHECKPOINT_INTERVAL_SECONDS must be whole seconds/);
    // The log table is read where events are written to it (fan-out), proven (query) or erased (erasure, admin).
    for (const fn of ['fanout', 'erasure', 'admin', 'query'] as const) expect(functionVariables[fn], fn).toContain('LOG_TABLE_NAME');
  });
});
