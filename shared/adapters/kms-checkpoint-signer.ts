import { GetPublicKeyCommand, SignCommand, type GetPublicKeyCommandOutput, type SignCommandOutput } from '@aws-sdk/client-kms';
import { createPublicKey, createVerify, type KeyObject } from 'node:crypto';
import type { CheckpointSigner } from '../domain/proofs.js';
import { createKmsClient } from './aws-clients.js';

/** The two KMS calls the signer makes (a KMSClient from createKmsClient, or a test's fake). */
export interface KmsSigningClient {
  send(command: SignCommand): Promise<SignCommandOutput>;
  send(command: GetPublicKeyCommand): Promise<GetPublicKeyCommandOutput>;
}

/** KMS signs at most 4,096 bytes of message with MessageType RAW; a checkpoint body is about 150. */
const MAX_RAW_MESSAGE_BYTES = 4096;

interface PublicKey {
  /** The key's ARN as KMS names it (GetPublicKey's KeyId is always the key ARN, even when asked by alias). */
  keyArn: string;
  key: KeyObject;
  pem: string;
}

/**
 * Checkpoints signed by an AWS KMS asymmetric key (contract section 14): ECC_NIST_P256, SIGN_VERIFY, ECDSA_SHA_256 over
 * the RAW message (KMS hashes it with SHA-256 itself), which KMS returns DER-encoded (ASN.1 ECDSA-Sig-Value), exactly
 * what `openssl dgst -sha256 -verify` reads. The private key never leaves KMS.
 *
 * Invariants:
 *  - the public key is read once per instance (GetPublicKey) and refused unless it is a P-256 SIGN_VERIFY key that
 *    offers ECDSA_SHA_256: a checkpoint is never signed by a key the routes could not publish as such;
 *  - a signature is returned only once it verifies under that public key, so a wrong key id or a mangled answer
 *    fails the run instead of archiving a checkpoint nobody can verify;
 *  - keyId() is the key ARN (what Checkpoint.key_id carries in AWS).
 */
export class KmsCheckpointSigner implements CheckpointSigner {
  private publicKey: Promise<PublicKey> | undefined;

  constructor(private readonly keyId_: string, private readonly client: KmsSigningClient = createKmsClient()) {
    if (!keyId_) throw new TypeError('KmsCheckpointSigner needs the checkpoint key (CHECKPOINT_KEY_ARN)');
  }

  async keyId(): Promise<string> {
    return (await this.key()).keyArn;
  }

  async publicKeyPem(): Promise<string> {
    return (await this.key()).pem;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    if (message.byteLength === 0 || message.byteLength > MAX_RAW_MESSAGE_BYTES) {
      throw new RangeError(`KMS signs RAW messages of 1 to ${MAX_RAW_MESSAGE_BYTES} bytes; this one has ${message.byteLength}`);
    }
    const { keyArn, key } = await this.key();
    const answer = await this.client.send(new SignCommand({ KeyId: keyArn, Message: message, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
    const signature = answer.Signature;
    if (!signature || signature.byteLength === 0) throw new Error('KMS Sign answered without a signature');
    if (answer.SigningAlgorithm !== undefined && answer.SigningAlgorithm !== 'ECDSA_SHA_256') throw new Error(`KMS Sign answered with ${answer.SigningAlgorithm}, not ECDSA_SHA_256`);
    const verifies = createVerify('SHA256').update(message).verify({ key, dsaEncoding: 'der' }, signature);
    if (!verifies) throw new Error(`KMS Sign's signature does not verify under the public key of ${keyArn}`);
    return new Uint8Array(signature);
  }

  private key(): Promise<PublicKey> {
    this.publicKey ??= this.readPublicKey().catch((error: unknown) => {
      this.publicKey = undefined; // a failed read (throttling, a cold network) is tried again on the next call
      throw error;
    });
    return this.publicKey;
  }

  private async readPublicKey(): Promise<PublicKey> {
    const answer = await this.client.send(new GetPublicKeyCommand({ KeyId: this.keyId_ }));
    if (answer.KeySpec !== 'ECC_NIST_P256') throw new Error(`The checkpoint key must be ECC_NIST_P256, not ${answer.KeySpec ?? 'unknown'}`);
    if (answer.KeyUsage !== 'SIGN_VERIFY') throw new Error(`The checkpoint key must be SIGN_VERIFY, not ${answer.KeyUsage ?? 'unknown'}`);
    if (!answer.SigningAlgorithms?.includes('ECDSA_SHA_256')) throw new Error('The checkpoint key does not offer ECDSA_SHA_256');
    if (!answer.PublicKey || !answer.KeyId) throw new Error('KMS GetPublicKey answered without the key');
    // KMS returns the DER SubjectPublicKeyInfo (RFC 5280); the same structure PEM-armoured is "BEGIN PUBLIC KEY".
    const key = createPublicKey({ key: Buffer.from(answer.PublicKey), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new Error('KMS GetPublicKey answered with a key that is not on P-256');
    return { keyArn: answer.KeyId, key, pem: key.export({ format: 'pem', type: 'spki' }).toString() };
  }
}
