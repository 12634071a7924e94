import { ClawbackError } from '@clawback/core';
import type { Bundle } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import type { TrustMaterial, toSignedEntity, VerificationError } from '@sigstore/verify';
import { SigstoreVerifyErrors as E } from './errors.js';
import { sigstoreCore, sigstoreVerify } from './libs.js';
import type { SigstoreTrustedRoot } from './trusted-root.js';

// Turns @sigstore/verify's failures into Clawback codes that say which fact failed.

export interface FailureContext {
  leaf: X509Certificate;
  bundle: Bundle;
  entity: ReturnType<typeof toSignedEntity>;
  root: SigstoreTrustedRoot;
  tlogThreshold: number;
}

/** Map @sigstore/verify's error codes onto ours; certificate errors are split by what actually failed. */
export function translateLibraryError(err: unknown, ctx: FailureContext): ClawbackError {
  if (!(err instanceof sigstoreVerify().VerificationError)) {
    return new ClawbackError(
      E.SIGSTORE_VERIFY_FAILED,
      `Sigstore verification failed: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const detail = err.message;
  switch (err.code) {
    case 'CERTIFICATE_ERROR':
      return certificateError(err, ctx);
    case 'SIGNATURE_ERROR':
      return new ClawbackError(E.SIGSTORE_SIGNATURE_INVALID, `Sigstore signature invalid: ${detail}`, {
        cause: err,
      });
    case 'TIMESTAMP_ERROR':
      return new ClawbackError(E.SIGSTORE_TIMESTAMP_INVALID, `Sigstore timestamp invalid: ${detail}`, {
        cause: err,
        hint: 'the timestamp authority is not in the trusted root, or the timestamp was altered',
      });
    case 'TLOG_ERROR':
    case 'TLOG_BODY_ERROR':
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_INCLUSION_PROMISE_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return new ClawbackError(
        E.SIGSTORE_TLOG_INVALID,
        `Sigstore transparency log entry invalid: ${detail}`,
        {
          cause: err,
          hint: 'the Rekor log is not in the trusted root, or the log entry was altered',
        },
      );
    default:
      return new ClawbackError(E.SIGSTORE_VERIFY_FAILED, `Sigstore verification failed: ${detail}`, {
        cause: err,
      });
  }
}

function certificateError(err: VerificationError, ctx: FailureContext): ClawbackError {
  // The library says only "CERTIFICATE_ERROR". To tell the user which fact failed, compare the leaf's
  // validity with the signing times the log entries claim -- once those entries are shown to be genuine,
  // so that a forged integrated time is reported as a bad log entry, not as a certificate problem.
  const { leaf, bundle } = ctx;
  const claimed = bundle.verificationMaterial.tlogEntries
    .filter((e) => e.integratedTime !== '0' && e.integratedTime !== '')
    .map((e) => new Date(Number(e.integratedTime) * 1000));
  const from = leaf.notBefore.toISOString();
  const until = leaf.notAfter.toISOString();
  const outside = claimed.some((t) => t > leaf.notAfter || t < leaf.notBefore);
  const logError = outside ? tlogEvidenceError(ctx) : undefined;
  if (logError !== undefined) {
    return new ClawbackError(
      E.SIGSTORE_TLOG_INVALID,
      `Sigstore transparency log entry invalid: ${logError.message}`,
      {
        cause: logError,
        hint: 'the Rekor log is not in the trusted root, or the log entry was altered',
      },
    );
  }
  if (claimed.some((t) => t > leaf.notAfter)) {
    return new ClawbackError(
      E.SIGSTORE_CERT_EXPIRED,
      `Sigstore certificate (valid ${from} to ${until}) had expired when the signature was logged`,
      { cause: err, hint: 'sign again; the short-lived certificate must be used within its 10 minutes' },
    );
  }
  if (claimed.some((t) => t < leaf.notBefore)) {
    return new ClawbackError(
      E.SIGSTORE_CERT_NOT_YET_VALID,
      `Sigstore certificate (valid ${from} to ${until}) was not yet valid when the signature was logged`,
      { cause: err },
    );
  }
  if (/SCT/i.test(err.message)) {
    return new ClawbackError(
      E.SIGSTORE_SCT_INVALID,
      `Sigstore certificate transparency check failed: ${err.message}`,
      {
        cause: err,
        hint: 'the CT log that vouched for this certificate is not in the trusted root',
      },
    );
  }
  return new ClawbackError(
    E.SIGSTORE_CERT_UNTRUSTED,
    `Sigstore certificate does not chain to a certificate authority in the trusted root: ${err.message}`,
    { cause: err, hint: 'verify against the trusted_root.json of the Sigstore instance that signed it' },
  );
}

// Verify only the transparency log evidence (SET, inclusion proof, body) by presenting the already
// signature-checked leaf key as a bare public key, so the certificate chain is not consulted.
function tlogEvidenceError(ctx: FailureContext): Error | undefined {
  const key = sigstoreCore().crypto.createPublicKey(ctx.leaf.publicKey);
  const material: TrustMaterial = {
    ...ctx.root.material,
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
  const verifier = new (sigstoreVerify().Verifier)(material, {
    tlogThreshold: ctx.tlogThreshold,
    ctlogThreshold: 0,
    timestampThreshold: 0,
  });
  try {
    verifier.verify({ ...ctx.entity, key: { $case: 'public-key', hint: '' }, timestamps: [] });
    return undefined;
  } catch (err) {
    return err as Error;
  }
}
