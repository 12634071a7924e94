import type { X509Certificate } from '@sigstore/core';
import { sigstoreCore } from './libs.js';

/**
 * The Fulcio certificate extensions Clawback reads, by name. OIDs and meanings follow Fulcio's
 * `docs/oid-info.md` (arc 1.3.6.1.4.1.57264.1). For GitHub Actions, Fulcio fills them from the OIDC token:
 * Build Signer URI = server_url + job_workflow_ref, Source Repository URI = server_url + repository,
 * Source Repository Digest = sha, Source Repository Ref = ref, Build Trigger = event_name,
 * Run Invocation URI = server_url + repository + /actions/runs/ + run_id + /attempts/ + run_attempt.
 */
export const FULCIO_OIDS = {
  issuer: '1.3.6.1.4.1.57264.1.8',
  buildSignerURI: '1.3.6.1.4.1.57264.1.9',
  buildSignerDigest: '1.3.6.1.4.1.57264.1.10',
  runnerEnvironment: '1.3.6.1.4.1.57264.1.11',
  sourceRepositoryURI: '1.3.6.1.4.1.57264.1.12',
  sourceRepositoryDigest: '1.3.6.1.4.1.57264.1.13',
  sourceRepositoryRef: '1.3.6.1.4.1.57264.1.14',
  sourceRepositoryIdentifier: '1.3.6.1.4.1.57264.1.15',
  sourceRepositoryOwnerURI: '1.3.6.1.4.1.57264.1.16',
  sourceRepositoryOwnerIdentifier: '1.3.6.1.4.1.57264.1.17',
  buildConfigURI: '1.3.6.1.4.1.57264.1.18',
  buildConfigDigest: '1.3.6.1.4.1.57264.1.19',
  buildTrigger: '1.3.6.1.4.1.57264.1.20',
  runInvocationURI: '1.3.6.1.4.1.57264.1.21',
  sourceRepositoryVisibilityAtSigning: '1.3.6.1.4.1.57264.1.22',
  // GitHub's `environment` claim: the deployment environment whose protection rules gated the job.
  deploymentEnvironment: '1.3.6.1.4.1.57264.1.23',
} as const;

export type FulcioExtensionName = keyof typeof FULCIO_OIDS;

/** The deprecated v1 issuer extension (raw bytes, not DER); read only when the v2 one is absent. */
const ISSUER_V1_OID = '1.3.6.1.4.1.57264.1.1';
/** ASN.1 universal tag number of UTF8String. */
const UTF8_STRING_TAG = 0x0c;

/** Who signed, as the Fulcio certificate states it. Only present extensions appear in `extensions`. */
export interface CertificateIdentity {
  /** The URI (or e-mail) subject alternative name; for GitHub Actions the workflow identity. */
  subjectAlternativeName: string;
  /** The OIDC issuer (extension .8, falling back to the deprecated .1). */
  issuer: string | undefined;
  extensions: Partial<Record<FulcioExtensionName, string>>;
  notBefore: Date;
  notAfter: Date;
  /** The leaf certificate, DER, base64 (for evidence; never a secret). */
  certificateDerBase64: string;
}

/** Reads the identity out of a Fulcio leaf certificate that has already been verified. */
export function certificateIdentity(cert: X509Certificate): CertificateIdentity {
  const extensions: Partial<Record<FulcioExtensionName, string>> = {};
  for (const [name, oid] of Object.entries(FULCIO_OIDS) as [FulcioExtensionName, string][]) {
    const value = derStringExtension(cert, oid);
    if (value !== undefined) extensions[name] = value;
  }
  const legacyIssuer = cert.extension(ISSUER_V1_OID)?.value.toString('utf8');
  return {
    subjectAlternativeName: cert.subjectAltName ?? '',
    issuer: extensions.issuer ?? legacyIssuer,
    extensions,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    certificateDerBase64: cert.root.toDER().toString('base64'),
  };
}

// Fulcio oid-info: ".8 through .22 are DER-encoded strings; the ASN.1 tag is UTF8String". Anything else
// is treated as absent rather than guessed at, so a malformed value can never satisfy a comparison.
function derStringExtension(cert: X509Certificate, oid: string): string | undefined {
  const ext = cert.extension(oid);
  if (ext === undefined) return undefined;
  try {
    const inner = sigstoreCore().ASN1Obj.parseBuffer(Buffer.from(ext.value));
    if (!inner.tag.isUniversal() || inner.tag.number !== UTF8_STRING_TAG) return undefined;
    return inner.value.toString('utf8');
  } catch {
    return undefined;
  }
}
