import { GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalCheckpointArchive } from '../../infra/local/local-checkpoint-archive.js';
import { LocalCheckpointSigner } from '../../infra/local/local-checkpoint-signer.js';
import { withErrorTranslation } from '../../shared/adapters/aws-clients.js';
import { KmsCheckpointSigner, type KmsSigningClient } from '../../shared/adapters/kms-checkpoint-signer.js';
import { S3CheckpointArchive, type CheckpointObjectClient } from '../../shared/adapters/s3-checkpoint-archive.js';
import { CheckpointArchiveConflict, archivedCheckpointText, checkpointArchiveKey } from '../../shared/domain/checkpoint-archive.js';
import { ServiceUnavailableError } from '../../shared/domain/errors.js';
import { checkpointBody, checkpointVerifies, signCheckpoint, type Checkpoint, type CheckpointStatement } from '../../shared/domain/proofs.js';

/**
 * Checkpoint signing and the write-once archive (issue #25 point 2): every signature is checked by OpenSSL's command
 * line, which leadlog did not write, as a third party would (`openssl dgst -sha256 -verify pub.pem -signature sig.der
 * body.txt`), and by checkpointVerifies; every tampering fails both.
 */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'leadlog-checkpoints-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
const file = (name: string, content: string | Uint8Array): string => {
  const path = join(dir, `${files++}-${name}`);
  writeFileSync(path, content);
  return path;
};

/** OpenSSL's answer on a checkpoint: the body's exact bytes, the DER signature, the PEM public key. */
function openssl(body: string, signatureBase64: string, publicKeyPem: string): { ok: boolean; output: string } {
  const run = spawnSync('openssl', ['dgst', '-sha256', '-verify', file('pub.pem', publicKeyPem), '-signature', file('sig.der', Buffer.from(signatureBase64, 'base64')), file('body.txt', Buffer.from(body, 'utf8'))], { encoding: 'utf8' });
  return { ok: run.status === 0 && run.stdout.trim() === 'Verified OK', output: `${run.stdout}${run.stderr}` };
}

const ROOT = Buffer.alloc(32, 7).toString('base64');
const statement = (overrides: Partial<CheckpointStatement> = {}): CheckpointStatement => ({
  org_id: 'org_proofs-1', tree_size: 1234, root_hash: ROOT, issued_at: '2026-11-02T10:00:00.123Z', ...overrides,
});
const pem = (key: KeyObject) => key.export({ format: 'pem', type: 'spki' }).toString();
const flipByte = (base64: string, index: number) => {
  const bytes = Buffer.from(base64, 'base64');
  bytes[index] = bytes[index]! ^ 0x01;
  return bytes.toString('base64');
};

describe('the local checkpoint signer', () => {
  it('makes a P-256 key file, mode 0600, on first use, and names it local:<16 hex of SHA-256 of the public DER> as OpenSSL computes it', async () => {
    const keyFile = join(dir, 'data', 'proof-signing-key.pem');
    expect(existsSync(keyFile)).toBe(false);
    const signer = new LocalCheckpointSigner(keyFile);
    const keyId = await signer.keyId();
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const text = spawnSync('openssl', ['pkey', '-in', keyFile, '-noout', '-text'], { encoding: 'utf8' }).stdout;
    expect(text).toMatch(/ASN1 OID: prime256v1/);
    const der = spawnSync('openssl', ['pkey', '-in', keyFile, '-pubout', '-outform', 'DER']).stdout;
    expect(keyId).toBe(`local:${createHash('sha256').update(der).digest('hex').slice(0, 16)}`);
    // A restart (a new instance) keeps the key: every checkpoint signed so far names it.
    const again = new LocalCheckpointSigner(keyFile);
    expect(await again.keyId()).toBe(keyId);
    expect(await again.publicKeyPem()).toBe(await signer.publicKeyPem());
  });

  it('ends with one key when several processes start on an absent file together', async () => {
    const keyFile = join(dir, 'race', 'proof-signing-key.pem');
    const keys = await Promise.all(Array.from({ length: 6 }, () => new LocalCheckpointSigner(keyFile).publicKeyPem()));
    expect(new Set(keys).size).toBe(1);
  });

  it("signs checkpoints OpenSSL's command line verifies (Verified OK), and checkpointVerifies accepts", async () => {
    const signer = new LocalCheckpointSigner(join(dir, 'sign', 'key.pem'));
    const publicKeyPem = await signer.publicKeyPem();
    for (const s of [statement(), statement({ tree_size: 0 }), statement({ tree_size: Number.MAX_SAFE_INTEGER, org_id: 'A'.repeat(64) })]) {
      const checkpoint = await signCheckpoint(s, signer);
      expect(checkpoint.body).toBe(checkpointBody(s));
      expect(checkpoint.key_id).toBe(await signer.keyId());
      const result = openssl(checkpoint.body, checkpoint.signature, publicKeyPem);
      expect(result.ok, result.output).toBe(true);
      expect(checkpointVerifies(checkpoint, publicKeyPem)).toBe(true);
    }
  });

  it('fails both OpenSSL and checkpointVerifies on every tampering: a byte of the body, tree_size, root, signature, another key, garbage', async () => {
    const signer = new LocalCheckpointSigner(join(dir, 'tamper', 'key.pem'));
    const publicKeyPem = await signer.publicKeyPem();
    const good = await signCheckpoint(statement(), signer);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const resigned = (s: CheckpointStatement): Checkpoint => ({ ...good, ...s, body: checkpointBody(s) });
    const cases: Record<string, { checkpoint: Checkpoint; key: string }> = {
      // The fields still say the original: only the signed text changed (one digit of the size inside the body).
      'a byte of the body': { checkpoint: { ...good, body: good.body.replace('\n1234\n', '\n1235\n') }, key: publicKeyPem },
      'a trailing byte added to the body': { checkpoint: { ...good, body: `${good.body}\n` }, key: publicKeyPem },
      'tree_size (body and field)': { checkpoint: resigned(statement({ tree_size: 1235 })), key: publicKeyPem },
      'root_hash (body and field)': { checkpoint: resigned(statement({ root_hash: flipByte(ROOT, 31) })), key: publicKeyPem },
      'issued_at (body and field)': { checkpoint: resigned(statement({ issued_at: '2026-11-02T10:00:00.124Z' })), key: publicKeyPem },
      'org_id (body and field)': { checkpoint: resigned(statement({ org_id: 'org_proofs-2' })), key: publicKeyPem },
      'the last byte of the signature': { checkpoint: { ...good, signature: flipByte(good.signature, Buffer.from(good.signature, 'base64').length - 1) }, key: publicKeyPem },
      'a middle byte of the signature': { checkpoint: { ...good, signature: flipByte(good.signature, 20) }, key: publicKeyPem },
      'another P-256 key': { checkpoint: good, key: pem(other) },
      'a P-384 key': { checkpoint: good, key: pem(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey) },
      'an Ed25519 key': { checkpoint: good, key: pem(generateKeyPairSync('ed25519').publicKey) },
      'garbage PEM': { checkpoint: good, key: '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n' },
    };
    for (const [what, { checkpoint, key }] of Object.entries(cases)) {
      expect(openssl(checkpoint.body, checkpoint.signature, key).ok, what).toBe(false);
      expect(checkpointVerifies(checkpoint, key), what).toBe(false);
    }
    // The untampered one still passes both (the cases above did not fail for a reason of their own).
    expect(openssl(good.body, good.signature, publicKeyPem).ok).toBe(true);
    expect(checkpointVerifies(good, publicKeyPem)).toBe(true);
  });

  it('refuses a P-384 signature even under its own P-384 key (OpenSSL alone would accept it): checkpoints are P-256 only', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    const s = statement();
    const body = checkpointBody(s);
    const signature = createSign('SHA256').update(body).sign({ key: privateKey, dsaEncoding: 'der' }).toString('base64');
    expect(openssl(body, signature, pem(publicKey)).ok).toBe(true);
    expect(checkpointVerifies({ ...s, body, signature, key_id: 'local:x' }, pem(publicKey))).toBe(false);
  });

  it('refuses a key file holding a P-384, Ed25519 or RSA key, or garbage, and never replaces it', async () => {
    const keys: Record<string, string> = {
      'P-384': generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      Ed25519: generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      RSA: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
      garbage: '-----BEGIN PRIVATE KEY-----\n\uD800 not base64 \n-----END PRIVATE KEY-----\n',
      empty: '',
    };
    for (const [what, text] of Object.entries(keys)) {
      const keyFile = file(`${what}.pem`, text);
      const signer = new LocalCheckpointSigner(keyFile);
      await expect(signer.sign(Buffer.from('x')), what).rejects.toThrow(/P-256|PEM/);
      await expect(signer.keyId(), what).rejects.toThrow();
      expect(readFileSync(keyFile).equals(Buffer.from(text)), what).toBe(true);
    }
  });
});

describe('the local checkpoint archive', () => {
  it('writes checkpoints/<org>/<size, 16 digits>.json once: the same checkpoint again is success, another one a conflict', async () => {
    const dataDir = join(dir, 'archive');
    const archive = new LocalCheckpointArchive(dataDir);
    const signer = new LocalCheckpointSigner(join(dataDir, 'key.pem'));
    const checkpoint = await signCheckpoint(statement({ tree_size: 42 }), signer);
    await archive.put({ ...checkpoint, extra: 'not archived' } as Checkpoint);
    const path = join(dataDir, 'checkpoints', 'org_proofs-1', '0000000000000042.json');
    expect(archive.fileOf(checkpoint)).toBe(path);
    expect(readFileSync(path, 'utf8')).toBe(archivedCheckpointText(checkpoint));
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(checkpoint);
    await archive.put(checkpoint); // a retried run
    // ECDSA signatures are randomized: the same statement signed again is another checkpoint, and a root that differs too.
    const resigned = await signCheckpoint(statement({ tree_size: 42 }), signer);
    expect(resigned.signature).not.toBe(checkpoint.signature);
    await expect(archive.put(resigned)).rejects.toBeInstanceOf(CheckpointArchiveConflict);
    // The conflict carries the archived checkpoint (what a run that crashed between archive and store may adopt).
    await expect(archive.put(resigned)).rejects.toMatchObject({ existing: checkpoint });
    expect(checkpointVerifies(((await archive.put(resigned).catch((e: unknown) => e)) as CheckpointArchiveConflict).existing!, await signer.publicKeyPem())).toBe(true);
    await expect(archive.put(await signCheckpoint(statement({ tree_size: 42, root_hash: flipByte(ROOT, 0) }), signer))).rejects.toBeInstanceOf(CheckpointArchiveConflict);
    expect(readFileSync(path, 'utf8')).toBe(archivedCheckpointText(checkpoint));
    // Racing writers of one size: exactly one checkpoint is kept; the same one from every writer is success for all.
    const racing = await Promise.all(Array.from({ length: 4 }, () => signCheckpoint(statement({ tree_size: 43 }), signer)));
    const outcomes = await Promise.allSettled(racing.map((c) => archive.put(c)));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    await Promise.all(Array.from({ length: 4 }, () => archive.put(checkpoint)));
  });

  it('refuses a checkpoint whose body is not its own fields, and never writes outside its folder', async () => {
    const dataDir = join(dir, 'archive-hostile');
    const archive = new LocalCheckpointArchive(dataDir);
    const signer = new LocalCheckpointSigner(join(dir, 'archive-hostile-key.pem'));
    const good = await signCheckpoint(statement(), signer);
    const hostile: Record<string, Checkpoint> = {
      'org id with ../': { ...good, org_id: '../../escape' },
      'org id with a lone surrogate': { ...good, org_id: 'org\uD800' },
      'fields that disagree with the body': { ...good, tree_size: 99 },
      'a body with an extra line': { ...good, body: `${good.body}extra\n` },
      'a signature that is not base64': { ...good, signature: 'not base64!' },
      'no key id': { ...good, key_id: '' },
      'a tree size beyond 16 digits': { ...good, tree_size: 1e16, body: checkpointBody({ ...statement(), tree_size: 1e16 }) },
    };
    for (const [what, checkpoint] of Object.entries(hostile)) await expect(archive.put(checkpoint), what).rejects.toThrow(TypeError);
    expect(existsSync(dataDir) ? readdirSync(dataDir) : []).toEqual([]);
    expect(existsSync(join(dir, 'escape'))).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// AWS KMS, faked at the client: a real P-256 key behind the fake, so its answers are what KMS would give.

const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';

function fakeKms(options: { keySpec?: string; keyUsage?: string; algorithms?: string[]; publicKey?: KeyObject; signWith?: KeyObject; signature?: Uint8Array; failFirst?: number; algorithm?: string } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const sent: (SignCommand | GetPublicKeyCommand)[] = [];
  let failures = options.failFirst ?? 0;
  const client = {
    async send(command: SignCommand | GetPublicKeyCommand) {
      sent.push(command);
      if (failures-- > 0) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
      if (command instanceof GetPublicKeyCommand) {
        return {
          KeyId: KEY_ARN, KeySpec: options.keySpec ?? 'ECC_NIST_P256', KeyUsage: options.keyUsage ?? 'SIGN_VERIFY',
          SigningAlgorithms: options.algorithms ?? ['ECDSA_SHA_256'],
          PublicKey: new Uint8Array((options.publicKey ?? publicKey).export({ format: 'der', type: 'spki' })), $metadata: {},
        };
      }
      const signature = options.signature ?? createSign('SHA256').update(command.input.Message!).sign({ key: options.signWith ?? privateKey, dsaEncoding: 'der' });
      return { KeyId: KEY_ARN, Signature: new Uint8Array(signature), SigningAlgorithm: options.algorithm ?? 'ECDSA_SHA_256', $metadata: {} };
    },
  };
  return { client: client as unknown as KmsSigningClient, sent, publicKey };
}

describe('the KMS checkpoint signer', () => {
  it('asks KMS for ECDSA_SHA_256 over the RAW body, names the key ARN, and publishes a PEM OpenSSL reads and verifies with', async () => {
    const kms = fakeKms();
    const signer = new KmsCheckpointSigner('alias/leadlog-checkpoints', kms.client);
    const checkpoints = [];
    for (const size of [1, 2, 3]) checkpoints.push(await signCheckpoint(statement({ tree_size: size }), signer));
    const signs = kms.sent.filter((c): c is SignCommand => c instanceof SignCommand);
    expect(signs).toHaveLength(3);
    for (const [i, command] of signs.entries()) {
      expect(command.input).toMatchObject({ KeyId: KEY_ARN, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });
      expect(Buffer.from(command.input.Message!).toString('utf8')).toBe(checkpoints[i]!.body);
    }
    expect(kms.sent.filter((c) => c instanceof GetPublicKeyCommand)).toHaveLength(1); // cached per instance
    expect((kms.sent.find((c) => c instanceof GetPublicKeyCommand) as GetPublicKeyCommand).input).toEqual({ KeyId: 'alias/leadlog-checkpoints' });
    expect(await signer.keyId()).toBe(KEY_ARN);
    const publicKeyPem = await signer.publicKeyPem();
    expect(publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+\n-----END PUBLIC KEY-----\n$/);
    const text = spawnSync('openssl', ['pkey', '-pubin', '-in', file('kms.pem', publicKeyPem), '-noout', '-text'], { encoding: 'utf8' });
    expect(text.stdout).toMatch(/ASN1 OID: prime256v1/);
    expect(publicKeyPem).toBe(pem(kms.publicKey));
    for (const checkpoint of checkpoints) {
      expect(checkpoint.key_id).toBe(KEY_ARN);
      expect(openssl(checkpoint.body, checkpoint.signature, publicKeyPem).ok).toBe(true);
      expect(checkpointVerifies(checkpoint, publicKeyPem)).toBe(true);
    }
  });

  it('reads the public key again after a failed read (a throttled cold start does not stick)', async () => {
    const kms = fakeKms({ failFirst: 1 });
    const signer = new KmsCheckpointSigner(KEY_ARN, kms.client);
    await expect(signer.publicKeyPem()).rejects.toThrow(/Rate exceeded/);
    expect(await signer.publicKeyPem()).toBe(pem(kms.publicKey));
  });

  it('refuses a key that is not a P-256 SIGN_VERIFY key offering ECDSA_SHA_256, and never signs with it', async () => {
    const wrong = {
      'a P-384 key spec': fakeKms({ keySpec: 'ECC_NIST_P384' }),
      'an Ed25519 key spec': fakeKms({ keySpec: 'ECC_NIST_EDWARDS25519' }),
      'an encryption key': fakeKms({ keyUsage: 'ENCRYPT_DECRYPT' }),
      'no ECDSA_SHA_256': fakeKms({ algorithms: ['ECDSA_SHA_384'] }),
      'a P-384 public key under a P-256 spec': fakeKms({ publicKey: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey }),
    };
    for (const [what, kms] of Object.entries(wrong)) {
      const signer = new KmsCheckpointSigner(KEY_ARN, kms.client);
      await expect(signCheckpoint(statement(), signer), what).rejects.toThrow();
      expect(kms.sent.some((c) => c instanceof SignCommand), what).toBe(false);
    }
  });

  it("returns no signature that does not verify: another key's, an empty one, another algorithm's, a flipped byte", async () => {
    const good = createSign('SHA256').update(checkpointBody(statement())).sign({ key: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, dsaEncoding: 'der' });
    const bad = {
      "another key's": fakeKms({ signWith: generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey }),
      empty: fakeKms({ signature: new Uint8Array(0) }),
      'ECDSA_SHA_384 answered': fakeKms({ algorithm: 'ECDSA_SHA_384' }),
      'garbage bytes': fakeKms({ signature: new Uint8Array(good.subarray(0, 10)) }),
    };
    for (const [what, kms] of Object.entries(bad)) {
      await expect(signCheckpoint(statement(), new KmsCheckpointSigner(KEY_ARN, kms.client)), what).rejects.toThrow();
    }
  });

  it('refuses an empty message or one over KMS RAW limit of 4,096 bytes without calling Sign', async () => {
    const kms = fakeKms();
    const signer = new KmsCheckpointSigner(KEY_ARN, kms.client);
    await expect(signer.sign(new Uint8Array(0))).rejects.toThrow(RangeError);
    await expect(signer.sign(new Uint8Array(4097))).rejects.toThrow(RangeError);
    expect((await signer.sign(new Uint8Array(4096).fill(0x61))).byteLength).toBeGreaterThan(60);
    expect(kms.sent.filter((c) => c instanceof SignCommand)).toHaveLength(1);
  });

  it("through the real SDK client: the wire request is KMS's JSON (TrentService.Sign, RAW, base64 message), and a 500 becomes a 503", async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const requests: { target: string; body: Record<string, unknown> }[] = [];
    let fail = false;
    const json = (statusCode: number, body: unknown) => ({ response: { statusCode, headers: { 'content-type': 'application/x-amz-json-1.1' }, body: new Blob([JSON.stringify(body)]).stream() } });
    const client = withErrorTranslation(new KMSClient({
      region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1,
      requestHandler: {
        handle: async (request: { headers: Record<string, string>; body: string }) => {
          const target = request.headers['x-amz-target']!;
          const body = JSON.parse(request.body) as Record<string, unknown>;
          requests.push({ target, body });
          if (fail) return json(500, { __type: 'KMSInternalException', message: 'boom' });
          if (target.endsWith('.GetPublicKey')) {
            return json(200, { KeyId: KEY_ARN, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY', SigningAlgorithms: ['ECDSA_SHA_256'], PublicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') });
          }
          const signature = createSign('SHA256').update(Buffer.from(body.Message as string, 'base64')).sign({ key: privateKey, dsaEncoding: 'der' });
          return json(200, { KeyId: KEY_ARN, Signature: signature.toString('base64'), SigningAlgorithm: 'ECDSA_SHA_256' });
        },
      } as never,
    }));
    const signer = new KmsCheckpointSigner(KEY_ARN, client);
    const checkpoint = await signCheckpoint(statement(), signer);
    expect(requests.map((r) => r.target)).toEqual(['TrentService.GetPublicKey', 'TrentService.Sign']);
    expect(requests[1]!.body).toEqual({ KeyId: KEY_ARN, Message: Buffer.from(checkpoint.body).toString('base64'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' });
    expect(openssl(checkpoint.body, checkpoint.signature, pem(publicKey)).ok).toBe(true);
    fail = true;
    await expect(signer.sign(Buffer.from(checkpoint.body))).rejects.toBeInstanceOf(ServiceUnavailableError);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// The S3 archive, faked at the client: an in-memory bucket that honours If-None-Match as S3 does.

function fakeBucket(options: { conflictOnce?: boolean } = {}) {
  const objects = new Map<string, string>();
  const sent: (PutObjectCommand | GetObjectCommand)[] = [];
  let conflict = options.conflictOnce ?? false;
  const client = {
    async send(command: PutObjectCommand | GetObjectCommand) {
      sent.push(command);
      const key = command.input.Key!;
      if (command instanceof PutObjectCommand) {
        if (conflict) {
          conflict = false;
          throw Object.assign(new Error('A conflicting conditional operation is in progress'), { name: 'ConditionalRequestConflict', $metadata: { httpStatusCode: 409 } });
        }
        if (command.input.IfNoneMatch === '*' && objects.has(key)) {
          throw Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } });
        }
        objects.set(key, Buffer.from(command.input.Body as Uint8Array).toString('utf8'));
        return { $metadata: {} };
      }
      const text = objects.get(key);
      if (text === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
      return { Body: { transformToString: async () => text }, $metadata: {} };
    },
  };
  return { client: client as unknown as CheckpointObjectClient, objects, sent };
}

describe('the S3 checkpoint archive', () => {
  it('puts checkpoints/<org>/<size>.json with If-None-Match: * and its own SHA-256 checksum (Object Lock requires one)', async () => {
    const bucket = fakeBucket();
    const signer = new LocalCheckpointSigner(join(dir, 's3', 'key.pem'));
    const checkpoint = await signCheckpoint(statement({ tree_size: 7 }), signer);
    await new S3CheckpointArchive('leadlog-dev-checkpoints', bucket.client).put(checkpoint);
    const put = bucket.sent[0] as PutObjectCommand;
    const body = Buffer.from(put.input.Body as Uint8Array);
    expect(put.input).toMatchObject({ Bucket: 'leadlog-dev-checkpoints', Key: 'checkpoints/org_proofs-1/0000000000000007.json', ContentType: 'application/json', IfNoneMatch: '*' });
    expect(put.input.ChecksumSHA256).toBe(createHash('sha256').update(body).digest('base64'));
    expect(body.toString('utf8')).toBe(archivedCheckpointText(checkpoint));
    expect(checkpointArchiveKey(checkpoint)).toBe(put.input.Key);
  });

  it('takes the same checkpoint again as success (412, then read), another as a conflict, and a 409 then a missing object as the 409', async () => {
    const bucket = fakeBucket();
    const archive = new S3CheckpointArchive('b', bucket.client);
    const signer = new LocalCheckpointSigner(join(dir, 's3-retry', 'key.pem'));
    const checkpoint = await signCheckpoint(statement(), signer);
    await archive.put(checkpoint);
    await archive.put(checkpoint);
    await expect(archive.put(await signCheckpoint(statement(), signer))).rejects.toBeInstanceOf(CheckpointArchiveConflict);
    expect(bucket.objects.size).toBe(1);
    expect(bucket.objects.get(checkpointArchiveKey(checkpoint))).toBe(archivedCheckpointText(checkpoint));
    // A tampered object in the bucket (not parseable, or another field) is a conflict, never success.
    await expect(archive.put(await signCheckpoint(statement(), signer))).rejects.toMatchObject({ existing: checkpoint });
    bucket.objects.set(checkpointArchiveKey(checkpoint), '{"org_id":');
    await expect(archive.put(checkpoint)).rejects.toMatchObject({ name: 'CheckpointArchiveConflict', existing: undefined });
    // An object of another org's or size's checkpoint under this key is not taken as this key's.
    bucket.objects.set(checkpointArchiveKey(checkpoint), archivedCheckpointText(await signCheckpoint(statement({ tree_size: 1 }), signer)));
    await expect(archive.put(checkpoint)).rejects.toMatchObject({ name: 'CheckpointArchiveConflict', existing: undefined });

    const racing = fakeBucket({ conflictOnce: true });
    await expect(new S3CheckpointArchive('b', racing.client).put(checkpoint)).rejects.toMatchObject({ name: 'ConditionalRequestConflict' });
    await new S3CheckpointArchive('b', racing.client).put(checkpoint); // the retry lands
    expect(racing.objects.size).toBe(1);
  });

  it('refuses a malformed checkpoint before any request', async () => {
    const bucket = fakeBucket();
    const signer = new LocalCheckpointSigner(join(dir, 's3-bad', 'key.pem'));
    const checkpoint = await signCheckpoint(statement(), signer);
    await expect(new S3CheckpointArchive('b', bucket.client).put({ ...checkpoint, org_id: 'other' })).rejects.toThrow(TypeError);
    expect(bucket.sent).toEqual([]);
  });
});
