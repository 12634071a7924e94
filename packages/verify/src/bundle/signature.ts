import { decodeManifest, MANIFEST_PAYLOAD_TYPE, type Manifest } from '@clawback/bundle';
import { type PublicKey, parseDsseEnvelope, verifyDsse } from '@clawback/core';

export interface ManifestSignatureOptions {
  trustedKeys: readonly PublicKey[];
  /** Distinct trusted keys that must have signed (k of n). */
  threshold: number;
}

export interface VerifiedManifest {
  manifest: Manifest;
  /** Exactly the signed bytes; the bundle's first member must equal them. */
  manifestBytes: Uint8Array;
  validKeyIds: string[];
}

/**
 * Verify a detached manifest signature (`FILE.sig.json`): a DSSE envelope of
 * payloadType `application/vnd.clawback.manifest+json` whose payload is the
 * manifest member's bytes, signed by `threshold` distinct trusted keys (each
 * key counted once however many signatures name it). Only then is the payload
 * parsed and validated. Throws SIGNATURE_INVALID, SIGNATURE_THRESHOLD_NOT_MET,
 * PAYLOAD_TYPE_MISMATCH, ENVELOPE_INVALID or SIGNED_MANIFEST_INVALID.
 */
export function verifyManifestSignature(
  envelopeJson: unknown,
  options: ManifestSignatureOptions,
): VerifiedManifest {
  const envelope = parseDsseEnvelope(envelopeJson, 'manifest signature');
  const result = verifyDsse(envelope, {
    trustedKeys: options.trustedKeys,
    threshold: options.threshold,
    payloadType: MANIFEST_PAYLOAD_TYPE,
    source: 'manifest signature',
  });
  const manifest = decodeManifest(result.payload, { source: 'signed manifest', signed: true });
  return { manifest, manifestBytes: result.payload, validKeyIds: result.validKeyIds };
}
