import { bytesEqual, ClawbackError, CoreErrors, INTOTO_PAYLOAD_TYPE } from '@clawback/core';
import type { Bundle, SerializedBundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import type { toSignedEntity } from '@sigstore/verify';
import { type CertificateIdentity, certificateIdentity } from './certificate.js';
import { SigstoreVerifyErrors as E } from './errors.js';
import { translateLibraryError } from './failures.js';
import { sigstoreBundle, sigstoreCore, sigstoreVerify } from './libs.js';
import { parseTrustedRoot, type SigstoreTrustedRoot } from './trusted-root.js';

/** A Sigstore bundle in its JSON form (what `signStatementKeyless` returns and what is stored on disk). */
export type SigstoreBundleJson = SerializedBundle;

export interface VerifySigstoreOptions {
  /** The pinned trusted_root.json (parsed JSON) or the result of `parseTrustedRoot`. Never fetched. */
  trustedRoot: unknown;
  /**
   * The verifier's clock. The certificate's 10-minute validity is checked at the *signing time* proven by
   * the transparency log / timestamp authority (Sigstore client spec), not at `now`. `now` is used to
   * refuse evidence from the future: a certificate whose notBefore, or a signing time, lies after
   * `now + maxClockSkewSeconds` is rejected.
   */
  now: Date;
  /** When given, the DSSE payload must be exactly these bytes (the statement the caller already holds). */
  expectedPayload?: Uint8Array;
  /** Required DSSE payloadType; default the in-toto one. */
  payloadType?: string;
  /** Tolerance for `now` checks; default 300 s. */
  maxClockSkewSeconds?: number;
  /** Required Rekor entries, SCTs and verified timestamps; each defaults to 1 (the public-good policy). */
  tlogThreshold?: number;
  ctlogThreshold?: number;
  timestampThreshold?: number;
}

export interface SigstoreTimestamp {
  source: 'transparency-log' | 'timestamp-authority';
  time: Date;
}

export interface SigstoreVerification {
  payloadType: string;
  /** The verified DSSE payload: the in-toto statement bytes, exactly as signed. */
  statementBytes: Uint8Array;
  certificate: CertificateIdentity;
  /** Signing times proven by the log / TSA (all verified). */
  timestamps: SigstoreTimestamp[];
  /** Rekor log indexes of the verified entries (for evidence). */
  tlogIndexes: string[];
}

const DEFAULT_SKEW_SECONDS = 300;

/**
 * Verify a Sigstore bundle (DSSE content, Fulcio certificate) against a pinned trusted root. Pure: no
 * network, no files, no clock. Throws a ClawbackError with a SIGSTORE_* code on any failure.
 */
export function verifySigstoreBundle(
  bundleJson: unknown,
  options: VerifySigstoreOptions,
): SigstoreVerification {
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) {
    // An invalid clock would make every "after now" comparison false, silently disabling those checks.
    throw new ClawbackError(CoreErrors.INVALID_INPUT, 'verifySigstoreBundle: `now` is not a valid Date', {
      hint: 'pass the current time (on a device, its time floor)',
    });
  }
  const root: SigstoreTrustedRoot = parseTrustedRoot(options.trustedRoot);
  const bundle = loadBundle(bundleJson);
  if (bundle.content.$case !== 'dsseEnvelope') {
    throw new ClawbackError(E.SIGSTORE_BUNDLE_UNSUPPORTED, 'Sigstore bundle does not carry a DSSE envelope', {
      hint: 'sign the in-toto statement as DSSE (signStatementKeyless does)',
    });
  }
  const envelope = bundle.content.dsseEnvelope;
  const leaf = leafCertificate(bundle);
  const entity = sigstoreVerify().toSignedEntity(bundle);
  checkDsseSignature(entity, envelope.signatures.length, leaf);

  const tlogThreshold = options.tlogThreshold ?? 1;
  const verifier = new (sigstoreVerify().Verifier)(root.material, {
    tlogThreshold,
    ctlogThreshold: options.ctlogThreshold ?? 1,
    timestampThreshold: options.timestampThreshold ?? 1,
  });
  try {
    verifier.verify(entity);
  } catch (err) {
    throw translateLibraryError(err, { leaf, bundle, entity, root, tlogThreshold });
  }

  const timestamps = verifiedTimestamps(entity.timestamps);
  checkAgainstNow(leaf, timestamps, options);
  const statementBytes = new Uint8Array(envelope.payload);
  checkPayload(envelope.payloadType, statementBytes, options);
  return {
    payloadType: envelope.payloadType,
    statementBytes,
    certificate: certificateIdentity(leaf),
    timestamps,
    tlogIndexes: bundle.verificationMaterial.tlogEntries.map((e) => e.logIndex),
  };
}

// DSSE signature over PAE(payloadType, payload) with the certificate's key, checked before the library
// so that a changed statement or signature is reported as exactly that (the library would first report
// the log entry body). Sigstore DSSE bundles carry exactly one signature.
function checkDsseSignature(entity: SignedEntity, signatureCount: number, leaf: X509Certificate): void {
  if (
    signatureCount !== 1 ||
    !entity.signature.verifySignature(sigstoreCore().crypto.createPublicKey(leaf.publicKey))
  ) {
    throw new ClawbackError(E.SIGSTORE_SIGNATURE_INVALID, 'Sigstore DSSE signature does not verify', {
      hint: 'the statement or its signature was modified; rebuild and re-sign it',
    });
  }
}

function checkPayload(payloadType: string, statementBytes: Uint8Array, options: VerifySigstoreOptions): void {
  const wantedType = options.payloadType ?? INTOTO_PAYLOAD_TYPE;
  if (payloadType !== wantedType) {
    throw new ClawbackError(
      E.SIGSTORE_PAYLOAD_TYPE_MISMATCH,
      `Sigstore DSSE payloadType is ${JSON.stringify(payloadType)}, expected ${JSON.stringify(wantedType)}`,
      { hint: 'the bundle signs something other than an in-toto statement' },
    );
  }
  if (options.expectedPayload !== undefined && !bytesEqual(statementBytes, options.expectedPayload)) {
    throw new ClawbackError(E.SIGSTORE_PAYLOAD_MISMATCH, 'Sigstore bundle signs a different statement', {
      hint: 'the Sigstore bundle belongs to another provenance file; pass the matching pair',
    });
  }
}

const supportedMediaTypes = (): Set<string> => {
  const b = sigstoreBundle();
  return new Set<string>([b.BUNDLE_V03_MEDIA_TYPE, b.BUNDLE_V03_LEGACY_MEDIA_TYPE, b.BUNDLE_V02_MEDIA_TYPE]);
};

function loadBundle(json: unknown): Bundle {
  let bundle: Bundle;
  try {
    bundle = sigstoreBundle().bundleFromJSON(json);
  } catch (cause) {
    const fields = (cause as { fields?: unknown }).fields;
    throw new ClawbackError(
      E.SIGSTORE_BUNDLE_INVALID,
      `Sigstore bundle is malformed: ${(cause as Error).message}`,
      {
        cause,
        hint: 'pass the .sigstore.json file produced by signing, unmodified',
        details: Array.isArray(fields) ? { fields } : {},
      },
    );
  }
  if (!supportedMediaTypes().has(bundle.mediaType)) {
    throw new ClawbackError(
      E.SIGSTORE_BUNDLE_UNSUPPORTED,
      `Sigstore bundle media type ${bundle.mediaType} is not supported`,
      {
        hint: 'use a v0.2 or v0.3 Sigstore bundle',
      },
    );
  }
  return bundle;
}

function leafCertificate(bundle: Bundle): X509Certificate {
  const content = bundle.verificationMaterial.content;
  let raw: Buffer | undefined;
  if (content.$case === 'certificate') raw = content.certificate.rawBytes;
  else if (content.$case === 'x509CertificateChain')
    raw = content.x509CertificateChain.certificates[0]?.rawBytes;
  if (raw === undefined) {
    throw new ClawbackError(E.SIGSTORE_BUNDLE_UNSUPPORTED, 'Sigstore bundle has no Fulcio certificate', {
      hint: 'only keyless (certificate-based) Sigstore bundles are accepted',
    });
  }
  try {
    return sigstoreCore().X509Certificate.parse(Buffer.from(raw));
  } catch (cause) {
    throw new ClawbackError(E.SIGSTORE_BUNDLE_INVALID, 'Sigstore bundle certificate is not valid DER', {
      cause,
    });
  }
}

type SignedEntity = ReturnType<typeof toSignedEntity>;
type EntityTimestamp = SignedEntity['timestamps'][number];

// Only called after the Verifier accepted every timestamp (TSA signatures, tlog SETs), so these times are
// authenticated. A tlog entry's integrated time counts only with an inclusion promise, as in the library.
function verifiedTimestamps(timestamps: EntityTimestamp[]): SigstoreTimestamp[] {
  const out: SigstoreTimestamp[] = [];
  for (const ts of timestamps) {
    if (ts.$case === 'timestamp-authority') {
      out.push({ source: 'timestamp-authority', time: ts.timestamp.signingTime });
    } else if (ts.tlogEntry.inclusionPromise !== undefined) {
      out.push({ source: 'transparency-log', time: new Date(Number(ts.tlogEntry.integratedTime) * 1000) });
    }
  }
  return out;
}

function checkAgainstNow(
  leaf: X509Certificate,
  timestamps: SigstoreTimestamp[],
  options: VerifySigstoreOptions,
): void {
  const limit = options.now.getTime() + (options.maxClockSkewSeconds ?? DEFAULT_SKEW_SECONDS) * 1000;
  if (leaf.notBefore.getTime() > limit) {
    throw new ClawbackError(
      E.SIGSTORE_CERT_NOT_YET_VALID,
      `Sigstore certificate is valid only from ${leaf.notBefore.toISOString()}, after now (${options.now.toISOString()})`,
      { hint: "check this machine's clock; a certificate from the future is refused" },
    );
  }
  const future = timestamps.find((t) => t.time.getTime() > limit);
  if (future !== undefined) {
    throw new ClawbackError(
      E.SIGSTORE_TIMESTAMP_IN_FUTURE,
      `Sigstore signing time ${future.time.toISOString()} (${future.source}) is after now (${options.now.toISOString()})`,
      { hint: "check this machine's clock; a signature from the future is refused" },
    );
  }
}
