import { defineErrorCodes } from '@clawback/core';

/** Error codes owned by `@clawback/approvals` (kinds decide exit codes; see core errors.ts). */
export const ApprovalErrors = defineErrorCodes({
  /** The change was checked and is not approved (exit 1). */
  CHANGE_NOT_APPROVED: 'rejected',
  /** `.clawback/change-policy.yaml` on the target branch is malformed. */
  CHANGE_POLICY_INVALID: 'input',
  /** The target branch has no change policy at all. */
  CHANGE_POLICY_MISSING: 'input',
  /** A signed change record failed verification (signature, subject, predicate). */
  CHANGE_RECORD_INVALID: 'rejected',
  /** GitHub answered with an error we cannot degrade around (bad token, repo/commit unknown). */
  GITHUB_REQUEST_FAILED: 'environment',
  /** No credentials: neither GITHUB_TOKEN nor GitHub App settings. */
  GITHUB_AUTH_MISSING: 'environment',
  /** The commit or repository named on the command line does not exist. */
  GITHUB_NOT_FOUND: 'input',
  /** `evidence verify` found a problem in an evidence pack. */
  EVIDENCE_PACK_INVALID: 'rejected',
  /** `evidence pack` inputs are missing or unreadable (TUF repo, records dir, period). */
  EVIDENCE_INPUT_INVALID: 'input',
  /** The output directory for `evidence pack` already holds files. */
  EVIDENCE_OUT_EXISTS: 'state',
});
