import { ClawbackError } from '@clawback/core';
import type { CertificateIdentity } from './certificate.js';
import { SigstoreVerifyErrors } from './errors.js';

/** The OIDC issuer of GitHub Actions ID tokens (github.com; GHES and enterprise-unique issuers differ). */
export const GITHUB_ACTIONS_ISSUER = 'https://token.actions.githubusercontent.com';

/**
 * Names of the certificate <-> provenance checks. The first seven always run; the last four run when the
 * provenance states the value (then the certificate must vouch for it).
 */
export type CrossCheckName =
  | 'issuer'
  | 'builder-id'
  | 'source-repository-uri'
  | 'source-repository-digest'
  | 'source-repository-ref'
  | 'build-trigger'
  | 'run-invocation-uri'
  | 'build-signer-uri'
  | 'runner-environment'
  | 'source-repository-identifier'
  | 'source-repository-owner-identifier';

export interface CrossCheck {
  name: CrossCheckName;
  ok: boolean;
  /** What the provenance (or the issuer policy) says the certificate must contain. */
  expected: string | undefined;
  /** What the certificate contains. */
  actual: string | undefined;
}

export interface CrossCheckResult {
  ok: boolean;
  checks: CrossCheck[];
}

export interface CrossCheckOptions {
  /** Accepted OIDC issuer; default GitHub Actions' (`GITHUB_ACTIONS_ISSUER`). */
  expectedIssuer?: string;
}

type Json = Record<string, unknown>;

/**
 * Compare a verified Fulcio certificate with the SLSA v1 provenance predicate it signs
 * (buildType https://actions.github.io/buildtypes/workflow/v1, as actions/attest-build-provenance fills it).
 * Both are filled from the same GitHub OIDC token, so every field must agree; a mismatch means the
 * provenance claims a build the certificate holder did not run. Returns every check by name.
 */
export function crossCheckCertificateWithProvenance(
  cert: CertificateIdentity,
  predicate: unknown,
  options: CrossCheckOptions = {},
): CrossCheckResult {
  const p = readPredicate(predicate);
  const ext = cert.extensions;
  const repoUri = repositoryUri(p.workflowRepository, p.builderId);
  const checks: CrossCheck[] = [
    exact('issuer', options.expectedIssuer ?? GITHUB_ACTIONS_ISSUER, cert.issuer),
    // Fulcio: SAN = server_url + job_workflow_ref; attest-build-provenance: builder.id = the same string.
    exact('builder-id', p.builderId, cert.subjectAlternativeName || undefined),
    exact('source-repository-uri', repoUri, ext.sourceRepositoryURI),
    exact('source-repository-digest', gitCommit(p.dependencies, repoUri), ext.sourceRepositoryDigest),
    exact('source-repository-ref', p.workflowRef, ext.sourceRepositoryRef),
    exact('build-trigger', p.github.event_name, ext.buildTrigger),
    runInvocation(p.invocationId, ext.runInvocationURI),
  ];
  if (p.builderId !== undefined && ext.buildSignerURI !== undefined) {
    checks.push(exact('build-signer-uri', p.builderId, ext.buildSignerURI));
  }
  const optional: [CrossCheckName, string, string | undefined][] = [
    ['runner-environment', 'runner_environment', ext.runnerEnvironment],
    ['source-repository-identifier', 'repository_id', ext.sourceRepositoryIdentifier],
    ['source-repository-owner-identifier', 'repository_owner_id', ext.sourceRepositoryOwnerIdentifier],
  ];
  for (const [name, field, actual] of optional) {
    const claimed = p.github[field];
    if (claimed !== undefined) checks.push(exact(name, claimed, actual));
  }
  return { ok: checks.every((c) => c.ok), checks };
}

/** Like `crossCheckCertificateWithProvenance`, but throws SIGSTORE_CERT_PROVENANCE_MISMATCH naming every failure. */
export function assertCertificateMatchesProvenance(
  cert: CertificateIdentity,
  predicate: unknown,
  options: CrossCheckOptions = {},
): CrossCheckResult {
  const result = crossCheckCertificateWithProvenance(cert, predicate, options);
  if (!result.ok) {
    const failed = result.checks.filter((c) => !c.ok);
    throw new ClawbackError(
      SigstoreVerifyErrors.SIGSTORE_CERT_PROVENANCE_MISMATCH,
      `Sigstore certificate does not match the provenance: ${failed
        .map((c) => `${c.name} (provenance ${show(c.expected)}, certificate ${show(c.actual)})`)
        .join('; ')}`,
      {
        hint: 'the provenance was not produced by the workflow run that holds the certificate; rebuild it in that run',
        details: { failed: failed.map((c) => c.name), checks: result.checks },
      },
    );
  }
  return result;
}

interface PredicateFields {
  builderId: string | undefined;
  invocationId: string | undefined;
  workflowRepository: string | undefined;
  workflowRef: string | undefined;
  github: Record<string, string | undefined>;
  dependencies: Json[];
}

function readPredicate(predicate: unknown): PredicateFields {
  const build = obj(obj(predicate).buildDefinition);
  const run = obj(obj(predicate).runDetails);
  const workflow = obj(obj(build.externalParameters).workflow);
  const github = obj(obj(build.internalParameters).github);
  const githubStrings: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(github)) githubStrings[k] = str(v);
  return {
    builderId: str(obj(run.builder).id),
    invocationId: str(obj(run.metadata).invocationId),
    workflowRepository: str(workflow.repository),
    workflowRef: str(workflow.ref),
    github: githubStrings,
    dependencies: Array.isArray(build.resolvedDependencies) ? build.resolvedDependencies.map(obj) : [],
  };
}

// attest-build-provenance writes externalParameters.workflow.repository as a full URL
// (server_url + "/" + repository); a bare "owner/repo" is resolved against the builder's server.
function repositoryUri(repository: string | undefined, builderId: string | undefined): string | undefined {
  if (repository === undefined) return undefined;
  if (/^https?:\/\//.test(repository)) return repository;
  let server = 'https://github.com';
  try {
    if (builderId !== undefined) server = new URL(builderId).origin;
  } catch {
    // keep github.com: a malformed builder id fails its own check
  }
  return `${server}/${repository}`;
}

// resolvedDependencies holds the source as { uri: "git+<repo>@<ref>", digest: { gitCommit } }; prefer the
// entry for the built repository, as other dependencies may be listed too.
function gitCommit(dependencies: Json[], repoUri: string | undefined): string | undefined {
  const withCommit = dependencies.filter((d) => str(obj(d.digest).gitCommit) !== undefined);
  const source =
    withCommit.find((d) => repoUri !== undefined && str(d.uri)?.startsWith(`git+${repoUri}@`)) ??
    withCommit[0];
  return source === undefined ? undefined : str(obj(source.digest).gitCommit);
}

// GitHub formats the run as <server>/<repo>/actions/runs/<run_id>/attempts/<run_attempt> in both places.
// If one side omits the attempt suffix, the run itself must still be the same.
function runInvocation(claimed: string | undefined, actual: string | undefined): CrossCheck {
  const strip = (s: string) => s.replace(/\/attempts\/\d+$/, '');
  const hasAttempt = (s: string) => /\/attempts\/\d+$/.test(s);
  let ok = claimed !== undefined && actual !== undefined && claimed === actual;
  if (!ok && claimed !== undefined && actual !== undefined && hasAttempt(claimed) !== hasAttempt(actual)) {
    ok = strip(claimed) === strip(actual);
  }
  return { name: 'run-invocation-uri', ok, expected: claimed, actual };
}

function exact(name: CrossCheckName, expected: string | undefined, actual: string | undefined): CrossCheck {
  return {
    name,
    ok: expected !== undefined && actual !== undefined && expected === actual,
    expected,
    actual,
  };
}

function obj(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

function show(value: string | undefined): string {
  return value === undefined ? 'missing' : JSON.stringify(value);
}
