/**
 * Small helpers over `@tufjs/models`: the models build the signed documents and
 * their canonical form; we only supply the Ed25519 signature over the bytes the
 * models hand to a signer (TUF spec §4.2, signatures over canonical `signed`).
 */
import { ClawbackError, isoSeconds, type PublicKey, type Signer, sha256Hex, toHex } from '@clawback/core';
import {
  Key,
  type Metadata,
  type Root,
  Signature,
  type Snapshot,
  type Targets,
  type Timestamp,
} from '@tufjs/models';
import { TufRepoErrors } from './errors.js';

export type AnyMetadata = Metadata<Root> | Metadata<Targets> | Metadata<Snapshot> | Metadata<Timestamp>;

export const SPEC_VERSION = '1.0.31';

/**
 * Signed, unrecognised field (TUF §4: unrecognised fields are preserved and signed)
 * holding the time the metadata was signed. Devices use the newest one they have
 * verified as a time floor (docs/tuf-repository.md, "Time floor").
 */
export const SIGNED_AT_FIELD = 'x-clawback-signed-at';

export function tufKey(key: PublicKey): Key {
  return new Key({
    keyID: key.keyid,
    keyType: 'ed25519',
    scheme: 'ed25519',
    keyVal: { public: toHex(key.bytes) },
  });
}

export function expiryFrom(now: Date, ms: number): string {
  return isoSeconds(new Date(now.getTime() + ms));
}

/** The exact bytes the models sign: their canonical JSON of `signed`. */
function bytesToSign(md: AnyMetadata): Buffer {
  const saved = md.signatures;
  let bytes: Buffer | undefined;
  // Metadata.sign canonicalises `signed` and passes the bytes to the signer; we capture them
  // and restore the signature map, so the canonical form stays the models' own.
  (md as Metadata<Root>).sign((data) => {
    bytes = data;
    return new Signature({ keyID: '', sig: '' });
  }, false);
  md.signatures = saved;
  if (!bytes) throw new Error('metadata signer was not called');
  return bytes;
}

/** Replace the signatures of `md` with signatures by `signers`. */
export async function signMetadata(md: AnyMetadata, signers: readonly Signer[]): Promise<void> {
  const bytes = bytesToSign(md);
  const signatures: Record<string, Signature> = {};
  for (const signer of signers) {
    const sig = await signer.sign(new Uint8Array(bytes));
    signatures[signer.keyid] = new Signature({ keyID: signer.keyid, sig: toHex(sig) });
  }
  md.signatures = signatures;
}

/** Fail unless at least `threshold` of `keyids` are among `signers` (before anything is written). */
export function requireThreshold(
  role: string,
  keyids: readonly string[],
  threshold: number,
  signers: readonly Signer[],
  names: ReadonlyMap<string, string> = new Map(),
): void {
  const have = new Set(signers.map((s) => s.keyid));
  const present = keyids.filter((k) => have.has(k));
  if (present.length >= threshold) return;
  const missing = keyids.filter((k) => !have.has(k)).map((k) => names.get(k) ?? k.slice(0, 16));
  throw new ClawbackError(
    TufRepoErrors.TUF_KEY_MISSING,
    `signing ${role} needs ${threshold} of its ${keyids.length} key(s); ${present.length} available (missing: ${missing.join(', ')})`,
    {
      hint: `Make the private key file(s) available (in the keys directory or with --key FILE / --key env:VAR) and rerun.`,
      details: { role, threshold, available: present.length, missing },
    },
  );
}

/** Serialise a metadata document as it is stored and served. */
export function metadataBytes(md: AnyMetadata): Buffer {
  return Buffer.from(`${JSON.stringify(md.toJSON(), null, 2)}\n`, 'utf8');
}

export function fileInfo(bytes: Uint8Array): { length: number; hashes: Record<string, string> } {
  return { length: bytes.length, hashes: { sha256: sha256Hex(bytes) } };
}
