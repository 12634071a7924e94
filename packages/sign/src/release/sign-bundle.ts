import { MANIFEST_PAYLOAD_TYPE, type Manifest, readBundle, readManifestMember } from '@clawback/bundle';
import {
  addDsseSignatures,
  bytesEqual,
  ClawbackError,
  type DsseEnvelope,
  fromBase64,
  parseDsseEnvelope,
  readJsonChecked,
  type Signer,
  signDsse,
  writeJsonAtomic,
} from '@clawback/core';
import { ReleaseErrors } from './errors.js';
import { openBundle } from './io.js';

export interface SignBundleOptions {
  bundlePath: string;
  signers: readonly Signer[];
  /** Default `<bundlePath>.sig.json`. */
  signaturePath?: string;
  /**
   * Read the whole bundle and check every file against its manifest before signing
   * (default true): a co-signer never signs a manifest whose bundle does not match it.
   */
  checkContents?: boolean;
}

export interface SignBundleResult {
  signaturePath: string;
  envelope: DsseEnvelope;
  manifest: Manifest;
  /** Key ids that signed in this call (a key that had already signed is not added twice). */
  added: string[];
}

export const signaturePathFor = (bundlePath: string) => `${bundlePath}.sig.json`;

/**
 * Sign a bundle's manifest member as a detached DSSE envelope, after checking
 * that every file matches it. If the
 * signature file exists, its envelope must carry the same manifest bytes and
 * the new signatures are appended: k-of-n signing by different key holders,
 * each running this on their own machine.
 */
export async function signBundleFile(options: SignBundleOptions): Promise<SignBundleResult> {
  const signaturePath = options.signaturePath ?? signaturePathFor(options.bundlePath);
  const { manifest, manifestBytes } =
    options.checkContents === false
      ? await readManifestMember(await openBundle(options.bundlePath))
      : await readBundle(await openBundle(options.bundlePath));
  let existing: DsseEnvelope | undefined;
  if (await fileExists(signaturePath)) {
    existing = parseDsseEnvelope(await readJsonChecked(signaturePath, 'signature file'), signaturePath);
    const payload = fromBase64(existing.payload);
    if (existing.payloadType !== MANIFEST_PAYLOAD_TYPE || !payload || !bytesEqual(payload, manifestBytes)) {
      throw new ClawbackError(
        ReleaseErrors.SIGNATURE_FILE_MISMATCH,
        `${signaturePath} signs a different manifest than ${options.bundlePath}`,
        {
          hint: 'The bundle was rebuilt since it was signed: delete the old .sig.json and collect signatures again.',
        },
      );
    }
  }
  const before = new Set(existing?.signatures.map((s) => s.keyid) ?? []);
  const envelope = existing
    ? await addDsseSignatures(existing, options.signers)
    : await signDsse(MANIFEST_PAYLOAD_TYPE, manifestBytes, options.signers);
  await writeJsonAtomic(signaturePath, envelope);
  const added = envelope.signatures.map((s) => s.keyid).filter((k) => !before.has(k));
  return { signaturePath, envelope, manifest, added };
}

async function fileExists(path: string): Promise<boolean> {
  try {
    await readJsonChecked(path, 'signature file');
    return true;
  } catch (err) {
    if (err instanceof ClawbackError && err.code === 'FILE_NOT_FOUND') return false;
    throw err;
  }
}

/**
 * Sign freshly built manifest bytes (`clawback bundle build --key`): a new envelope
 * replaces any signature file left from an earlier build of the same path.
 */
export async function signBuiltManifest(options: {
  bundlePath: string;
  manifestBytes: Uint8Array;
  signers: readonly Signer[];
  signaturePath?: string;
}): Promise<{ signaturePath: string; envelope: DsseEnvelope }> {
  const signaturePath = options.signaturePath ?? signaturePathFor(options.bundlePath);
  const envelope = await signDsse(MANIFEST_PAYLOAD_TYPE, options.manifestBytes, options.signers);
  await writeJsonAtomic(signaturePath, envelope);
  return { signaturePath, envelope };
}
