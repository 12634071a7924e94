/**
 * The verifier `release add` uses by default: the release helper's `verifyBundleFile`
 * (manifest signature with a threshold of trusted keys, every file digest, provenance and
 * Sigstore when given), all checks required. The manifest facts published as target
 * custom metadata come from the signed manifest it returns, never from file names.
 */
import { ClawbackError, type PublicKey, parsePublicKey } from '@clawback/core';
import { assertChecks, type ProvenancePolicy } from '@clawback/verify';
import { verifyBundleFile } from '../release/index.js';
import { TufRepoErrors } from './errors.js';
import type { BundleVerifier } from './releases.js';
import { loadRepo } from './repository.js';

export interface BundleVerifierOptions {
  /** Keys trusted to sign manifests (e.g. the targets role's release key). */
  trustedKeys: readonly PublicKey[];
  threshold: number;
  provenancePath?: string;
  provenancePolicy?: ProvenancePolicy;
  sigstoreBundlePath?: string;
  trustedRootPath?: string;
  now: Date;
}

export function createBundleVerifier(options: BundleVerifierOptions): BundleVerifier {
  return async ({ bundlePath, signaturePath }) => {
    const report = await verifyBundleFile({
      bundlePath,
      signaturePath,
      trustedKeys: options.trustedKeys,
      threshold: options.threshold,
      now: options.now,
      ...(options.provenancePath ? { provenancePath: options.provenancePath } : {}),
      ...(options.provenancePolicy ? { provenancePolicy: options.provenancePolicy } : {}),
      ...(options.sigstoreBundlePath ? { sigstoreBundlePath: options.sigstoreBundlePath } : {}),
      ...(options.trustedRootPath ? { trustedRootPath: options.trustedRootPath } : {}),
    });
    assertChecks(report.checks);
    const m = report.manifest;
    if (!report.ok || !m) {
      throw new ClawbackError(TufRepoErrors.TUF_RELEASE_INVALID, `${bundlePath} did not verify`, {
        hint: 'Run `clawback bundle verify --json` on it to see every check.',
      });
    }
    return {
      name: m.name,
      version: m.version,
      hardwareIds: [...m.compatibility.hardware],
      ...(m.compatibility.min_updater_version
        ? { minUpdaterVersion: m.compatibility.min_updater_version }
        : {}),
    };
  };
}

/** The release key(s): the targets role's keys and threshold in the repository's newest root. */
export async function releaseKeysOf(repo: string): Promise<{ keys: PublicKey[]; threshold: number }> {
  const { root } = await loadRepo(repo);
  const role = root.signed.roles.targets;
  const keys = (role?.keyIDs ?? []).flatMap((id) => {
    const k = root.signed.keys[id];
    return k ? [parsePublicKey(JSON.stringify(k.toJSON()), `root key ${id}`)] : [];
  });
  return { keys, threshold: role?.threshold ?? 1 };
}
