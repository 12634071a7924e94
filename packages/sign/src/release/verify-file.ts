import { stat } from 'node:fs/promises';
import {
  DEFAULT_READ_LIMITS,
  HashPool,
  type Manifest,
  type ReadLimits,
  readBundle,
  startMemberHashing,
} from '@clawback/bundle';
import { ClawbackError, CoreErrors, loadPublicKey, type PublicKey, readJsonChecked } from '@clawback/core';
import {
  type Check,
  crossCheckCertificateWithProvenance,
  evaluateProvenanceStatement,
  failFrom,
  failWith,
  type ProvenancePolicy,
  pass,
  SigstoreVerifyErrors,
  verifyManifestSignature,
  verifyProvenance,
  verifySigstoreBundle,
} from '@clawback/verify';
import { openBundle, requireFile } from './io.js';
import { signaturePathFor } from './sign-bundle.js';

export interface VerifyBundleFileOptions {
  bundlePath: string;
  /** Default `<bundlePath>.sig.json`. */
  signaturePath?: string;
  /** Keys trusted to sign manifests. */
  trustedKeys: readonly PublicKey[];
  /** Distinct trusted keys that must have signed the manifest. */
  threshold: number;
  /** DSSE provenance signed by a release key (`clawback provenance`). */
  provenancePath?: string;
  /** Keys trusted to sign provenance (default: `trustedKeys`), and how many must (default 1). */
  provenanceKeys?: readonly PublicKey[];
  provenanceThreshold?: number;
  provenancePolicy?: ProvenancePolicy;
  /** Sigstore bundle over the same statement; needs `trustedRootPath`. */
  sigstoreBundlePath?: string;
  /** Pinned Sigstore trusted_root.json. */
  trustedRootPath?: string;
  /** OIDC issuer the Fulcio certificate must name (default GitHub Actions). */
  expectedIssuer?: string;
  now: Date;
  limits?: Partial<ReadLimits>;
  /**
   * Report `bundleSha256` even when no provenance is checked. It is always computed when
   * provenance or a Sigstore bundle is given (their subject); otherwise skipping it saves a hash pass.
   */
  digest?: boolean;
}

export interface BundleVerificationReport {
  ok: boolean;
  checks: Check[];
  /** The signed manifest, when its signature verified. */
  manifest?: Manifest;
  /** SHA-256 of the whole bundle file. */
  bundleSha256?: string;
  bundleSize?: number;
}

/**
 * Verify a bundle file and its companions, reporting every check by name:
 * manifest-signature, bundle-contents (first member = signed manifest, every
 * file's digest, nothing extra or missing), bundle-digest, then provenance-*
 * and sigstore-* when given. The tar is streamed once in constant memory; when
 * provenance needs the whole-file digest, a worker thread computes it on the
 * other core at the same time.
 * Missing input files and bad options throw coded errors; failed checks do not
 * throw (see `ok`; `assertChecks` turns a report into an error).
 */
export async function verifyBundleFile(options: VerifyBundleFileOptions): Promise<BundleVerificationReport> {
  validateOptions(options);
  const signaturePath = options.signaturePath ?? signaturePathFor(options.bundlePath);
  await requireFile(options.bundlePath, 'bundle');
  const signatureJson = await readJsonChecked(signaturePath, 'manifest signature');
  const provenanceJson = options.provenancePath
    ? await readJsonChecked(options.provenancePath, 'provenance')
    : undefined;
  const sigstoreJson = options.sigstoreBundlePath
    ? await readJsonChecked(options.sigstoreBundlePath, 'Sigstore bundle')
    : undefined;
  const trustedRoot = options.trustedRootPath
    ? await readJsonChecked(options.trustedRootPath, 'trusted root')
    : undefined;

  const checks: Check[] = [];
  // The whole-file digest (provenance subject) is computed on a worker while this thread streams the tar.
  const wantDigest = options.digest === true || provenanceJson !== undefined || sigstoreJson !== undefined;
  const pool = wantDigest ? new HashPool(1) : undefined;
  const whole = pool?.hash(options.bundlePath);
  whole?.catch(() => undefined);
  // A free core hashes members: start its worker now, so its start-up overlaps the signature
  // check instead of following it (none when the whole-file hash already took the free core).
  const memberPool = startMemberHashing((await stat(options.bundlePath)).size);
  try {
    const manifest = await checkManifestAndContents(checks, signatureJson, options, memberPool);
    let digest: { sha256: string; size: number } | undefined;
    try {
      digest = await whole;
    } catch (err) {
      checks.push(
        failWith(
          'bundle-digest',
          CoreErrors.FILE_READ_FAILED,
          `could not hash the bundle: ${(err as Error).message}`,
        ),
      );
    }
    if (digest) {
      const statementBytes = checkProvenance(checks, provenanceJson, digest.sha256, options);
      if (sigstoreJson !== undefined)
        checkSigstore(checks, sigstoreJson, trustedRoot, statementBytes, digest.sha256, options);
    }
    return {
      ok: checks.every((c) => c.ok),
      checks,
      ...(manifest ? { manifest } : {}),
      ...(digest ? { bundleSha256: digest.sha256, bundleSize: digest.size } : {}),
    };
  } finally {
    await pool?.close();
    await memberPool?.close();
  }
}

/** manifest-signature, then (only on a trusted manifest) bundle-contents in one streaming pass. */
async function checkManifestAndContents(
  checks: Check[],
  signatureJson: unknown,
  options: VerifyBundleFileOptions,
  memberHashPool: HashPool | undefined,
): Promise<Manifest | undefined> {
  let signed: ReturnType<typeof verifyManifestSignature>;
  try {
    signed = verifyManifestSignature(signatureJson, options);
    checks.push(
      pass(
        'manifest-signature',
        `${signed.validKeyIds.length} of ${options.threshold} required key(s): ${signed.validKeyIds.join(', ')}`,
      ),
    );
  } catch (err) {
    checks.push(failFrom('manifest-signature', err));
    return undefined;
  }
  try {
    const r = await readBundle(await openBundle(options.bundlePath), {
      expectedManifest: signed.manifestBytes,
      limits: { ...DEFAULT_READ_LIMITS, ...options.limits },
      ...(memberHashPool ? { memberHashPool } : {}),
    });
    checks.push(
      pass(
        'bundle-contents',
        `${r.fileCount} file(s), ${r.payloadBytes} bytes, all digests match the signed manifest`,
      ),
    );
    return r.manifest;
  } catch (err) {
    checks.push(failFrom('bundle-contents', err));
    return undefined;
  }
}

function checkProvenance(
  checks: Check[],
  provenanceJson: unknown,
  bundleSha256: string,
  options: VerifyBundleFileOptions,
): Uint8Array | undefined {
  if (provenanceJson === undefined) return undefined;
  const r = verifyProvenance(provenanceJson, {
    trustedKeys: options.provenanceKeys ?? options.trustedKeys,
    threshold: options.provenanceThreshold ?? 1,
    bundleSha256,
    ...(options.provenancePolicy ? { policy: options.provenancePolicy } : {}),
  });
  checks.push(...r.checks);
  return r.statementBytes;
}

function checkSigstore(
  checks: Check[],
  sigstoreJson: unknown,
  trustedRoot: unknown,
  dsseStatement: Uint8Array | undefined,
  bundleSha256: string,
  options: VerifyBundleFileOptions,
): void {
  let verified: ReturnType<typeof verifySigstoreBundle>;
  try {
    verified = verifySigstoreBundle(sigstoreJson, {
      trustedRoot,
      now: options.now,
      // Both signatures must cover the very same statement bytes.
      ...(dsseStatement ? { expectedPayload: dsseStatement } : {}),
    });
    checks.push(
      pass(
        'sigstore-bundle',
        `signed by ${verified.certificate.subjectAlternativeName} (Rekor ${verified.tlogIndexes.join(', ') || 'none'})`,
      ),
    );
  } catch (err) {
    checks.push(failFrom('sigstore-bundle', err));
    return;
  }
  const evaluation = evaluateProvenanceStatement(verified.statementBytes, {
    bundleSha256,
    prefix: 'sigstore-provenance',
    ...(options.provenancePolicy ? { policy: options.provenancePolicy } : {}),
  });
  // With a key-signed provenance the statement is byte-identical and already evaluated; report it once.
  if (!dsseStatement) checks.push(...evaluation.checks);
  else if (evaluation.checks.some((c) => !c.ok)) checks.push(...evaluation.checks.filter((c) => !c.ok));
  if (!evaluation.predicate) return;
  const cross = crossCheckCertificateWithProvenance(verified.certificate, evaluation.predicate, {
    ...(options.expectedIssuer ? { expectedIssuer: options.expectedIssuer } : {}),
  });
  const bad = cross.checks.filter((c) => !c.ok);
  checks.push(
    cross.ok
      ? pass(
          'sigstore-certificate',
          `certificate matches provenance (${cross.checks.map((c) => c.name).join(', ')})`,
        )
      : failWith(
          'sigstore-certificate',
          SigstoreVerifyErrors.SIGSTORE_CERT_PROVENANCE_MISMATCH,
          bad
            .map(
              (c) =>
                `${c.name}: certificate has ${JSON.stringify(c.actual)}, provenance says ${JSON.stringify(c.expected)}`,
            )
            .join('; '),
        ),
  );
}

function validateOptions(o: VerifyBundleFileOptions): void {
  const usage = (msg: string, hint: string) => new ClawbackError(CoreErrors.USAGE, msg, { hint });
  if (o.trustedKeys.length === 0)
    throw usage('no trusted keys given', 'Pass --trusted-key PUB (repeatable).');
  if (!Number.isInteger(o.threshold) || o.threshold < 1)
    throw usage(`threshold must be >= 1, got ${o.threshold}`, 'Use --threshold N.');
  if (o.sigstoreBundlePath && !o.trustedRootPath) {
    throw usage('a Sigstore bundle needs a pinned trusted root', 'Pass --trusted-root trusted_root.json.');
  }
}

/** Read trusted public keys (paths or env:VAR) — the CLI edge of `trustedKeys`. */
export async function readTrustedKeys(refs: readonly string[], env: NodeJS.ProcessEnv): Promise<PublicKey[]> {
  const keys: PublicKey[] = [];
  for (const ref of refs) keys.push(await loadPublicKey(ref, env));
  return keys;
}
