/**
 * The default ReleaseVerifier: the checks `clawback bundle verify` runs, from
 * @clawback/verify, applied before any bundle byte is downloaded. The TUF target hash
 * is the bundle digest the provenance subject must name; the file digests are checked
 * later, while the bundle streams into the slot.
 */

import { ClawbackError, CoreErrors, fromUtf8 } from '@clawback/core';
import {
  assertCertificateMatchesProvenance,
  assertChecks,
  assertCompatible,
  type Check,
  evaluateProvenanceStatement,
  verifyManifestSignature,
  verifyProvenance,
  verifySigstoreBundle,
} from '@clawback/verify';
import { UpdaterErrors } from './errors.js';
import type { ReleaseVerifier, VerifiedRelease } from './install.js';

function parseJsonDoc(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(fromUtf8(bytes));
  } catch (cause) {
    throw new ClawbackError(CoreErrors.ENVELOPE_INVALID, `${what} is not JSON`, { cause });
  }
}

export class DefaultReleaseVerifier implements ReleaseVerifier {
  verify(input: Parameters<ReleaseVerifier['verify']>[0]): VerifiedRelease {
    const { target, trust } = input;
    const checks: string[] = [];
    // Design §4: the manifest is trusted only with k-of-n release key signatures.
    const signed = verifyManifestSignature(parseJsonDoc(input.signature, 'manifest signature'), {
      trustedKeys: trust.releaseKeys,
      threshold: trust.threshold,
    });
    checks.push(`manifest-signature: ${signed.validKeyIds.length} of ${trust.threshold} key(s)`);
    const m = signed.manifest;
    // The TUF custom metadata and the signed manifest must describe the same release.
    if (m.name !== target.agent || m.version !== target.version) {
      throw new ClawbackError(
        UpdaterErrors.MANIFEST_MISMATCH,
        `target ${target.targetPath} is signed as ${target.agent}@${target.version} but its manifest is ${m.name}@${m.version}`,
        { hint: 'The repository and the bundle disagree; do not install. Republish the release.' },
      );
    }
    checks.push('manifest-matches-target');
    checks.push(
      `compatibility: ${assertCompatible(m.compatibility, { hardwareId: trust.hardwareId, updaterVersion: trust.updaterVersion })}`,
    );
    if (trust.provenance) {
      if (!input.provenance) {
        throw new ClawbackError(
          UpdaterErrors.PROVENANCE_MISSING,
          `${target.targetPath} has no published provenance`,
          {
            hint: 'This device requires SLSA provenance (updater.yaml `provenance`). Publish the release with --provenance.',
          },
        );
      }
      const evaluation = verifyProvenance(parseJsonDoc(input.provenance, 'provenance'), {
        trustedKeys: trust.releaseKeys,
        threshold: 1,
        bundleSha256: target.sha256,
        policy: {
          repository: trust.provenance.repository,
          workflowPath: trust.provenance.workflow,
          refPattern: trust.provenance.ref,
        },
      });
      assertChecks(evaluation.checks);
      checks.push(...evaluation.checks.map((c: Check) => `${c.name}: ${c.message}`));
      checks.push(...this.verifySigstore(input, evaluation.statementBytes));
    }
    return { manifest: m, manifestBytes: signed.manifestBytes, checks };
  }

  /**
   * Keyless provenance (design §4): the Sigstore bundle must verify against the trusted root
   * the repository published through TUF, sign exactly the key-signed statement, satisfy the
   * same provenance policy, and carry a Fulcio certificate whose identity matches it.
   */
  private verifySigstore(
    input: Parameters<ReleaseVerifier['verify']>[0],
    statement: Uint8Array | undefined,
  ): string[] {
    const policy = input.trust.provenance;
    if (!policy) return [];
    if (!input.sigstore) {
      if (!policy.requireSigstore) return [];
      throw new ClawbackError(
        UpdaterErrors.SIGSTORE_BUNDLE_MISSING,
        `${input.target.targetPath} has no Sigstore bundle`,
        {
          hint: 'This device requires keyless provenance (provenance.require_sigstore); publish the release with --sigstore-bundle.',
        },
      );
    }
    const verified = verifySigstoreBundle(parseJsonDoc(input.sigstore.bundle, 'Sigstore bundle'), {
      trustedRoot: parseJsonDoc(input.sigstore.trustedRoot, 'Sigstore trusted root'),
      now: input.now,
      ...(statement ? { expectedPayload: statement } : {}),
    });
    const evaluation = evaluateProvenanceStatement(verified.statementBytes, {
      bundleSha256: input.target.sha256,
      prefix: 'sigstore-provenance',
      policy: { repository: policy.repository, workflowPath: policy.workflow, refPattern: policy.ref },
    });
    assertChecks(evaluation.checks);
    if (!evaluation.predicate) return [];
    assertCertificateMatchesProvenance(verified.certificate, evaluation.predicate, {
      ...(policy.issuer ? { expectedIssuer: policy.issuer } : {}),
    });
    return [
      `sigstore: signed by ${verified.certificate.subjectAlternativeName}, certificate matches provenance`,
    ];
  }
}
