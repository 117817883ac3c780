import { createPrivateKey, createPublicKey, createSign, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../../shared/domain/canonical.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CheckpointSigner } from '../../shared/domain/proofs.js';

interface LocalKey {
  privateKey: KeyObject;
  pem: string;
  keyId: string;
}

/**
 * The local stand-in for the KMS checkpoint key (contract section 14: "locally a key under .data/"): an ECDSA P-256
 * private key, PKCS#8 PEM, at PROOF_KEY_FILE (`<data folder>/proof-signing-key.pem`, infra/local/settings.ts).
 * Signatures are what KMS's ECDSA_SHA_256 returns: DER ECDSA over SHA-256 of the message.
 *
 * Invariants:
 *  - the file is made on first use when absent, mode 0600, with an exclusive create ('wx'): two processes starting
 *    together both end up with the one key that won, never with two;
 *  - an existing file is used as is and must hold a P-256 private key: anything else (another curve, Ed25519, RSA,
 *    garbage) is refused rather than replaced, since every checkpoint signed so far names that key;
 *  - keyId() is `local:` + the first 16 hex digits of SHA-256 of the public key's DER SubjectPublicKeyInfo.
 */
export class LocalCheckpointSigner implements CheckpointSigner {
  private loaded: Promise<LocalKey> | undefined;

  constructor(private readonly keyFile: string) {
    if (!keyFile) throw new TypeError('LocalCheckpointSigner needs the key file (PROOF_KEY_FILE)');
  }

  async keyId(): Promise<string> {
    return (await this.key()).keyId;
  }

  async publicKeyPem(): Promise<string> {
    return (await this.key()).pem;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    const { privateKey } = await this.key();
    return new Uint8Array(createSign('SHA256').update(message).sign({ key: privateKey, dsaEncoding: 'der' }));
  }

  private key(): Promise<LocalKey> {
    this.loaded ??= this.load().catch((error: unknown) => {
      this.loaded = undefined;
      throw error;
    });
    return this.loaded;
  }

  private async load(): Promise<LocalKey> {
    let text: string;
    try {
      text = await readFile(this.keyFile, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      text = await createKeyFile(this.keyFile);
    }
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(text);
    } catch (error) {
      throw new Error(`${this.keyFile} does not hold a private key in PEM (move it away to have a new key made)`, { cause: error });
    }
    if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      const what = privateKey.asymmetricKeyType === 'ec' ? `EC ${privateKey.asymmetricKeyDetails?.namedCurve}` : privateKey.asymmetricKeyType;
      throw new Error(`${this.keyFile} holds a ${what} key; checkpoints are signed with ECDSA P-256 (prime256v1) only`);
    }
    const publicKey = createPublicKey(privateKey);
    const der = publicKey.export({ format: 'der', type: 'spki' });
    return {
      privateKey,
      pem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      keyId: `local:${sha256Hex(der).slice(0, 16)}`,
    };
  }
}

/** A new P-256 key written exclusively (mode 0600); when another process wrote one first, that one. */
async function createKeyFile(file: string): Promise<string> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  try {
    await writeFile(file, pem, { mode: 0o600, flag: 'wx' });
    return pem;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return readFile(file, 'utf8');
  }
}
