import { basename } from 'node:path';
import {
  type GithubProvenancePredicate,
  githubProvenancePredicate,
  provenanceStatement,
} from '@clawback/bundle';
import {
  canonicalJsonBytes,
  type DsseEnvelope,
  INTOTO_PAYLOAD_TYPE,
  type Signer,
  type Statement,
  signDsse,
  writeJsonAtomic,
} from '@clawback/core';
import { type KeylessOptions, signStatementKeyless } from '../sigstore/index.js';
import { hashBundle } from './io.js';

export interface CreateProvenanceOptions {
  bundlePath: string;
  /** Release key(s) that sign the DSSE envelope. */
  signers: readonly Signer[];
  /** The GitHub Actions environment (process.env in CI). */
  env: Readonly<Record<string, string | undefined>>;
  /** Default `<bundlePath>.provenance.json`. */
  out?: string;
  /** Also sign keyless with Sigstore (OIDC -> Fulcio -> Rekor); written to `<out minus .json>.sigstore.json`. */
  sigstore?: KeylessOptions;
}

export interface CreateProvenanceResult {
  provenancePath: string;
  sigstorePath?: string;
  statement: Statement<GithubProvenancePredicate>;
  /** The exact statement bytes both signatures cover. */
  statementBytes: Uint8Array;
  envelope: DsseEnvelope;
  bundleSha256: string;
}

export const provenancePathFor = (bundlePath: string) => `${bundlePath}.provenance.json`;
export const sigstorePathFor = (provenancePath: string) =>
  `${provenancePath.replace(/\.json$/, '')}.sigstore.json`;

/**
 * Write SLSA v1 provenance for a bundle file: an in-toto Statement (subject =
 * file name + SHA-256 of the whole file) with the GitHub workflow predicate,
 * DSSE-signed by the release key; optionally the same statement bytes signed
 * keyless through Sigstore, so the device can check both.
 */
export async function createProvenance(options: CreateProvenanceOptions): Promise<CreateProvenanceResult> {
  // Environment first: outside Actions this fails before any work, naming the missing variables.
  const predicate = githubProvenancePredicate(options.env);
  const { sha256 } = await hashBundle(options.bundlePath);
  const statement = provenanceStatement(basename(options.bundlePath), sha256, predicate);
  const statementBytes = canonicalJsonBytes(statement);
  const envelope = await signDsse(INTOTO_PAYLOAD_TYPE, statementBytes, options.signers);
  const provenancePath = options.out ?? provenancePathFor(options.bundlePath);
  let sigstorePath: string | undefined;
  let sigstoreBundle: unknown;
  if (options.sigstore) {
    // Sign keyless before writing anything, so a Sigstore failure leaves no half set of files.
    sigstoreBundle = await signStatementKeyless(statementBytes, options.sigstore);
    sigstorePath = sigstorePathFor(provenancePath);
  }
  await writeJsonAtomic(provenancePath, envelope);
  if (sigstorePath) await writeJsonAtomic(sigstorePath, sigstoreBundle);
  return {
    provenancePath,
    ...(sigstorePath ? { sigstorePath } : {}),
    statement,
    statementBytes,
    envelope,
    bundleSha256: sha256,
  };
}
