import { ClawbackError, makeStatement, type ResourceDescriptor, type Statement } from '@clawback/core';
import { BundleErrors } from './errors.js';

/** SLSA Provenance v1 predicate type. */
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';
/** The buildType GitHub's own attestations use for a workflow run. */
export const GITHUB_WORKFLOW_BUILD_TYPE = 'https://actions.github.io/buildtypes/workflow/v1';

/** SLSA v1 `buildDefinition`. */
export interface BuildDefinition<E extends object = Record<string, unknown>, I = unknown> {
  buildType: string;
  externalParameters: E;
  internalParameters?: I;
  resolvedDependencies?: ResourceDescriptor[];
}

export interface RunDetails {
  builder: { id: string; version?: Record<string, string>; builderDependencies?: ResourceDescriptor[] };
  metadata?: { invocationId?: string; startedOn?: string; finishedOn?: string };
  byproducts?: ResourceDescriptor[];
}

export interface ProvenancePredicate<E extends object = Record<string, unknown>, I = unknown> {
  buildDefinition: BuildDefinition<E, I>;
  runDetails: RunDetails;
}

/** `externalParameters` of the GitHub workflow buildType. */
export interface GithubWorkflowExternal {
  workflow: { ref: string; repository: string; path: string };
}

export interface GithubWorkflowInternal {
  github: {
    event_name: string;
    repository_id: string;
    repository_owner_id: string;
    runner_environment: string;
  };
}

export type GithubProvenancePredicate = ProvenancePredicate<GithubWorkflowExternal, GithubWorkflowInternal>;

/** Variables GitHub Actions sets on every runner that the predicate is built from. */
export const GITHUB_PROVENANCE_ENV = [
  'GITHUB_SERVER_URL',
  'GITHUB_REPOSITORY',
  'GITHUB_REPOSITORY_ID',
  'GITHUB_REPOSITORY_OWNER_ID',
  'GITHUB_WORKFLOW_REF',
  'GITHUB_REF',
  'GITHUB_SHA',
  'GITHUB_EVENT_NAME',
  'GITHUB_RUN_ID',
  'GITHUB_RUN_ATTEMPT',
  'RUNNER_ENVIRONMENT',
] as const;

/**
 * Build the SLSA v1 predicate the way actions/attest-build-provenance fills the
 * `workflow/v1` buildType, from the runner's environment (which mirrors the
 * OIDC claims that Fulcio puts in the signing certificate, so the two can be
 * cross-checked). Outside Actions, names exactly which variables are missing.
 *
 * GITHUB_WORKFLOW_REF is `owner/repo/.github/workflows/x.yml@refs/heads/main`:
 * the part after the repository is the workflow path, after `@` its ref.
 */
export function githubProvenancePredicate(
  env: Readonly<Record<string, string | undefined>>,
): GithubProvenancePredicate {
  const missing = GITHUB_PROVENANCE_ENV.filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new ClawbackError(
      BundleErrors.PROVENANCE_ENV_MISSING,
      `not running in GitHub Actions: ${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set`,
      {
        hint: 'Run `clawback provenance` in the release workflow, or set those variables to simulate it.',
        details: { missing },
      },
    );
  }
  const v = (k: (typeof GITHUB_PROVENANCE_ENV)[number]) => env[k] as string;
  const server = v('GITHUB_SERVER_URL').replace(/\/+$/, '');
  const repo = v('GITHUB_REPOSITORY');
  const workflowRef = v('GITHUB_WORKFLOW_REF');
  const prefix = `${repo}/`;
  const at = workflowRef.lastIndexOf('@');
  if (!workflowRef.startsWith(prefix) || at <= prefix.length) {
    throw new ClawbackError(
      BundleErrors.PROVENANCE_ENV_MISSING,
      `GITHUB_WORKFLOW_REF ${JSON.stringify(workflowRef)} is not "${repo}/<path>@<ref>"`,
      { hint: 'GITHUB_WORKFLOW_REF must name a workflow in GITHUB_REPOSITORY.' },
    );
  }
  const path = workflowRef.slice(prefix.length, at);
  const ref = workflowRef.slice(at + 1);
  return {
    buildDefinition: {
      buildType: GITHUB_WORKFLOW_BUILD_TYPE,
      externalParameters: { workflow: { ref, repository: `${server}/${repo}`, path } },
      internalParameters: {
        github: {
          event_name: v('GITHUB_EVENT_NAME'),
          repository_id: v('GITHUB_REPOSITORY_ID'),
          repository_owner_id: v('GITHUB_REPOSITORY_OWNER_ID'),
          runner_environment: v('RUNNER_ENVIRONMENT'),
        },
      },
      resolvedDependencies: [
        { uri: `git+${server}/${repo}@${v('GITHUB_REF')}`, digest: { gitCommit: v('GITHUB_SHA') } },
      ],
    },
    runDetails: {
      builder: { id: `${server}/${workflowRef}` },
      metadata: {
        invocationId: `${server}/${repo}/actions/runs/${v('GITHUB_RUN_ID')}/attempts/${v('GITHUB_RUN_ATTEMPT')}`,
      },
    },
  };
}

/** The in-toto Statement v1 for a bundle file: subject = its file name and SHA-256. */
export function provenanceStatement<P extends ProvenancePredicate<object>>(
  subjectName: string,
  sha256: string,
  predicate: P,
): Statement<P> {
  return makeStatement([{ name: subjectName, digest: { sha256 } }], SLSA_PROVENANCE_V1, predicate);
}
