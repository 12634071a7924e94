import { createHash, createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import * as ed from '@noble/ed25519';
import { canonicalJson } from './canonical.js';
import { sha256Hex } from './digest.js';
import { fromHex, toHex } from './encoding.js';
import { ClawbackError, CoreErrors } from './errors.js';

// @noble/ed25519 needs a synchronous SHA-512 for its sync API. Node's own (OpenSSL) SHA-512 is the
// same function as a pure-JS one, without loading and warming up more code: the first signature
// check of a short-lived CLI run costs ~30 ms instead of ~50 ms (test/bench/bundle.mjs).
ed.hashes.sha512 = (message) => Uint8Array.from(createHash('sha512').update(message).digest());

/**
 * Public key in the TUF/securesystemslib JSON form. Using this exact shape means a
 * Clawback key is also a valid TUF key and its key id is the one TUF computes:
 * SHA-256 over the canonical JSON of {keytype, scheme, keyval: {public}}.
 */
export interface PublicKeyJson {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyval: { public: string };
}

export interface PublicKey {
  keyid: string;
  /** 32 raw bytes. */
  bytes: Uint8Array;
}

/** Anything that can sign: a key file today, a KMS or HSM tomorrow. */
export interface Signer {
  readonly keyid: string;
  readonly publicKey: PublicKey;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

export function publicKeyJson(bytes: Uint8Array): PublicKeyJson {
  return { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: toHex(bytes) } };
}

export function keyIdOf(bytes: Uint8Array): string {
  return sha256Hex(canonicalJson(publicKeyJson(bytes)));
}

export function makePublicKey(bytes: Uint8Array): PublicKey {
  if (bytes.length !== 32) {
    throw new ClawbackError(CoreErrors.KEY_INVALID, `an Ed25519 public key is 32 bytes, got ${bytes.length}`);
  }
  return { keyid: keyIdOf(bytes), bytes };
}

export interface KeyPair {
  publicKey: PublicKey;
  /** 32-byte Ed25519 seed. Treat as secret. */
  seed: Uint8Array;
}

/** Generate a key pair. `random` is injectable for deterministic tests. */
export function generateKeyPair(
  random: (n: number) => Uint8Array = (n) => new Uint8Array(randomBytes(n)),
): KeyPair {
  const seed = random(32);
  return { seed, publicKey: makePublicKey(ed.getPublicKey(seed)) };
}

export function keyPairFromSeed(seed: Uint8Array): KeyPair {
  if (seed.length !== 32) {
    throw new ClawbackError(
      CoreErrors.KEY_INVALID,
      `an Ed25519 private key (seed) is 32 bytes, got ${seed.length}`,
    );
  }
  return { seed, publicKey: makePublicKey(ed.getPublicKey(seed)) };
}

export function signerFromKeyPair(pair: KeyPair): Signer {
  const seed = pair.seed;
  return {
    keyid: pair.publicKey.keyid,
    publicKey: pair.publicKey,
    async sign(message) {
      return ed.sign(message, seed);
    },
  };
}

export function verifyEd25519(key: PublicKey, message: Uint8Array, signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  try {
    // zip215: false => strict RFC 8032 verification (no malleable encodings).
    return ed.verify(signature, message, key.bytes, { zip215: false });
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Key files. A public key file is the TUF JSON form plus its keyid; a private key
// file adds keyval.private (hex seed). PEM (SPKI / PKCS#8) Ed25519 keys, as
// `openssl genpkey -algorithm ed25519` writes them, are accepted on input too.

export interface PublicKeyFile extends PublicKeyJson {
  keyid: string;
}

export interface PrivateKeyFile {
  keytype: 'ed25519';
  scheme: 'ed25519';
  keyid: string;
  keyval: { public: string; private: string };
}

export function encodePublicKeyFile(key: PublicKey): string {
  const file: PublicKeyFile = { ...publicKeyJson(key.bytes), keyid: key.keyid };
  return `${JSON.stringify(file, null, 2)}\n`;
}

export function encodePrivateKeyFile(pair: KeyPair): string {
  const file: PrivateKeyFile = {
    keytype: 'ed25519',
    scheme: 'ed25519',
    keyid: pair.publicKey.keyid,
    keyval: { public: toHex(pair.publicKey.bytes), private: toHex(pair.seed) },
  };
  return `${JSON.stringify(file, null, 2)}\n`;
}

/** Parse a public key from its file text (Clawback/TUF JSON or PEM SPKI). `source` names it in errors. */
export function parsePublicKey(text: string, source: string): PublicKey {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    if (trimmed.includes('PRIVATE KEY')) return parsePrivateKey(text, source).publicKey;
    try {
      const jwk = createPublicKey(trimmed).export({ format: 'jwk' });
      if (jwk.crv !== 'Ed25519' || typeof jwk.x !== 'string')
        throw new Error(`not an Ed25519 key (${jwk.crv})`);
      return makePublicKey(new Uint8Array(Buffer.from(jwk.x, 'base64url')));
    } catch (cause) {
      throw keyError(source, `PEM public key could not be read: ${(cause as Error).message}`, cause);
    }
  }
  const json = parseKeyJson(trimmed, source);
  const pub = json.keyval?.public;
  if (json.keytype !== 'ed25519' || typeof pub !== 'string') {
    throw keyError(source, 'expected {"keytype":"ed25519","keyval":{"public":"<hex>"}}');
  }
  const bytes = fromHex(pub);
  if (bytes?.length !== 32) throw keyError(source, 'keyval.public must be 64 hex characters');
  const key = makePublicKey(bytes);
  if (json.keyid !== undefined && json.keyid !== key.keyid) {
    throw keyError(source, `keyid ${String(json.keyid)} does not match the key (expected ${key.keyid})`);
  }
  return key;
}

/** Parse a private key (Clawback JSON or PEM PKCS#8). */
export function parsePrivateKey(text: string, source: string): KeyPair {
  const trimmed = text.trim();
  if (trimmed.startsWith('-----BEGIN')) {
    try {
      const jwk = createPrivateKey(trimmed).export({ format: 'jwk' });
      if (jwk.crv !== 'Ed25519' || typeof jwk.d !== 'string')
        throw new Error(`not an Ed25519 key (${jwk.crv})`);
      return keyPairFromSeed(new Uint8Array(Buffer.from(jwk.d, 'base64url')));
    } catch (cause) {
      // Never echo key material: the message names the source only.
      throw keyError(source, `PEM private key could not be read: ${(cause as Error).message}`, cause);
    }
  }
  const json = parseKeyJson(trimmed, source);
  const priv = json.keyval?.private;
  if (json.keytype !== 'ed25519' || typeof priv !== 'string') {
    throw keyError(source, 'not an Ed25519 private key file (expected keyval.private)', undefined, true);
  }
  const seed = fromHex(priv);
  if (seed?.length !== 32) throw keyError(source, 'keyval.private must be 64 hex characters');
  const pair = keyPairFromSeed(seed);
  if (typeof json.keyval?.public === 'string' && json.keyval.public !== toHex(pair.publicKey.bytes)) {
    throw keyError(source, 'keyval.public does not belong to keyval.private');
  }
  return pair;
}

interface LooseKeyJson {
  keytype?: unknown;
  keyid?: unknown;
  keyval?: { public?: unknown; private?: unknown };
}

function parseKeyJson(text: string, source: string): LooseKeyJson {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as LooseKeyJson;
  } catch (cause) {
    throw keyError(source, 'is neither a Clawback JSON key nor a PEM key', cause);
  }
}

function keyError(source: string, what: string, cause?: unknown, maybePublic = false): ClawbackError {
  return new ClawbackError(CoreErrors.KEY_INVALID, `key ${source}: ${what}`, {
    ...(cause === undefined ? {} : { cause }),
    hint: maybePublic
      ? 'This looks like a public key; signing needs the private key file (NAME.key).'
      : 'Generate keys with `clawback keys generate`, or pass an Ed25519 PEM key.',
  });
}
