import { ClawbackError } from '@clawback/core';
import type { TrustMaterial } from '@sigstore/verify';
import { SigstoreVerifyErrors } from './errors.js';
import { protobufSpecs, sigstoreCore, sigstoreVerify } from './libs.js';

const TRUSTED_ROOT_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.trustedroot';
const BRAND: unique symbol = Symbol('clawback.sigstore.trustedRoot');

/** A validated trusted_root.json, ready for `verifySigstoreBundle`. Parse once, verify many bundles. */
export interface SigstoreTrustedRoot {
  readonly [BRAND]: true;
  readonly mediaType: string;
  /** What the root trusts, for reports: authority URIs and validity windows. */
  readonly summary: TrustedRootSummary;
  /** @internal the @sigstore/verify form. */
  readonly material: TrustMaterial;
}

export interface TrustedRootSummary {
  certificateAuthorities: AuthoritySummary[];
  tlogs: AuthoritySummary[];
  ctlogs: AuthoritySummary[];
  timestampAuthorities: AuthoritySummary[];
}

export interface AuthoritySummary {
  uri: string;
  validFrom: string | undefined;
  validUntil: string | undefined;
}

type Json = Record<string, unknown>;

/**
 * Validate and load a Sigstore trusted root (the `trusted_root.json` TUF target, protobuf-specs JSON form).
 * Every problem is reported at once, with its path. The root is pinned by the caller: nothing is fetched.
 */
export function parseTrustedRoot(json: unknown): SigstoreTrustedRoot {
  if (isSigstoreTrustedRoot(json)) return json;
  const problems = checkTrustedRootShape(json);
  if (problems.length > 0) {
    throw new ClawbackError(
      SigstoreVerifyErrors.SIGSTORE_TRUSTED_ROOT_INVALID,
      `trusted root is invalid: ${problems.join('; ')}`,
      {
        hint: 'use the trusted_root.json delivered by the TUF repository (or the Sigstore public-good root)',
        details: { problems },
      },
    );
  }
  const root = json as Json;
  let material: TrustMaterial;
  try {
    material = sigstoreVerify().toTrustMaterial(protobufSpecs().TrustedRoot.fromJSON(root));
  } catch (cause) {
    throw new ClawbackError(
      SigstoreVerifyErrors.SIGSTORE_TRUSTED_ROOT_INVALID,
      `trusted root could not be loaded: ${(cause as Error).message}`,
      { cause, hint: 'use an unmodified trusted_root.json' },
    );
  }
  return {
    [BRAND]: true,
    mediaType: root.mediaType as string,
    summary: {
      certificateAuthorities: summarize(
        root.certificateAuthorities,
        (a) => a.uri,
        (a) => a.validFor,
      ),
      tlogs: summarize(
        root.tlogs,
        (a) => a.baseUrl,
        (a) => (a.publicKey as Json | undefined)?.validFor,
      ),
      ctlogs: summarize(
        root.ctlogs,
        (a) => a.baseUrl,
        (a) => (a.publicKey as Json | undefined)?.validFor,
      ),
      timestampAuthorities: summarize(
        root.timestampAuthorities,
        (a) => a.uri,
        (a) => a.validFor,
      ),
    },
    material,
  };
}

export function isSigstoreTrustedRoot(value: unknown): value is SigstoreTrustedRoot {
  return (
    typeof value === 'object' && value !== null && (value as Partial<SigstoreTrustedRoot>)[BRAND] === true
  );
}

function checkTrustedRootShape(json: unknown): string[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return ['(root): must be a JSON object'];
  const root = json as Json;
  const problems: string[] = [];
  if (typeof root.mediaType !== 'string' || !root.mediaType.startsWith(TRUSTED_ROOT_MEDIA_TYPE_PREFIX)) {
    problems.push(`mediaType: must start with ${TRUSTED_ROOT_MEDIA_TYPE_PREFIX}`);
  }
  // A Fulcio CA and a Rekor log are both needed to verify any keyless bundle; CT logs and TSAs are optional
  // here (the verifier's thresholds decide whether their absence is fatal).
  checkList(root, 'certificateAuthorities', true, problems, checkCertAuthority);
  checkList(root, 'tlogs', true, problems, checkLog);
  checkList(root, 'ctlogs', false, problems, checkLog);
  checkList(root, 'timestampAuthorities', false, problems, checkCertAuthority);
  return problems;
}

function checkList(
  root: Json,
  field: string,
  required: boolean,
  problems: string[],
  check: (item: Json, path: string, problems: string[]) => void,
): void {
  const list = root[field];
  if (list === undefined && !required) return;
  if (!Array.isArray(list) || (required && list.length === 0)) {
    problems.push(`${field}: must be ${required ? 'a non-empty' : 'an'} array`);
    return;
  }
  list.forEach((item, i) => {
    const path = `${field}[${i}]`;
    if (typeof item !== 'object' || item === null) problems.push(`${path}: must be an object`);
    else check(item as Json, path, problems);
  });
}

function checkCertAuthority(ca: Json, path: string, problems: string[]): void {
  const certs = (ca.certChain as Json | undefined)?.certificates;
  if (!Array.isArray(certs) || certs.length === 0) {
    problems.push(`${path}.certChain.certificates: must be a non-empty array`);
  } else {
    certs.forEach((c, i) => {
      const raw = (c as Json | null)?.rawBytes;
      if (!parses(raw, (der) => sigstoreCore().X509Certificate.parse(der))) {
        problems.push(
          `${path}.certChain.certificates[${i}].rawBytes: must be a base64 DER X.509 certificate`,
        );
      }
    });
  }
  checkValidFor(ca.validFor, `${path}.validFor`, problems);
}

function checkLog(log: Json, path: string, problems: string[]): void {
  const key = log.publicKey as Json | undefined;
  if (!parses(key?.rawBytes, (der) => sigstoreCore().crypto.createPublicKey(der))) {
    problems.push(`${path}.publicKey.rawBytes: must be a base64 DER public key`);
  }
  const keyId = (log.logId as Json | undefined)?.keyId;
  if (typeof keyId !== 'string' || Buffer.from(keyId, 'base64').length === 0) {
    problems.push(`${path}.logId.keyId: must be base64`);
  }
  checkValidFor(key?.validFor, `${path}.publicKey.validFor`, problems);
}

function checkValidFor(validFor: unknown, path: string, problems: string[]): void {
  if (validFor === undefined) return;
  const v = validFor as Json;
  for (const edge of ['start', 'end'] as const) {
    const value = v?.[edge];
    if (value !== undefined && (typeof value !== 'string' || Number.isNaN(Date.parse(value)))) {
      problems.push(`${path}.${edge}: must be an RFC 3339 time`);
    }
  }
}

function parses(raw: unknown, parse: (der: Buffer<ArrayBuffer>) => unknown): boolean {
  if (typeof raw !== 'string' || raw.length === 0) return false;
  try {
    parse(Buffer.from(raw, 'base64'));
    return true;
  } catch {
    return false;
  }
}

function summarize(
  list: unknown,
  uri: (item: Json) => unknown,
  validFor: (item: Json) => unknown,
): AuthoritySummary[] {
  if (!Array.isArray(list)) return [];
  return (list as Json[]).map((item) => {
    const window = validFor(item) as Json | undefined;
    return {
      uri: String(uri(item) ?? ''),
      validFrom: typeof window?.start === 'string' ? window.start : undefined,
      validUntil: typeof window?.end === 'string' ? window.end : undefined,
    };
  });
}
