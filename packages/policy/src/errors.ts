import { defineErrorCodes } from '@clawback/core';

/** Error codes owned by @clawback/policy (house style 4). Tests assert these, not messages. */
export const PolicyErrors = defineErrorCodes({
  /** The policy file has errors; `details.problems` lists every one with its path. */
  POLICY_INVALID: 'input',
  /** A cases file for `policy test` is malformed. */
  POLICY_CASES_INVALID: 'input',
  /** An evaluation request names an unknown action or a target the action does not take. */
  POLICY_REQUEST_INVALID: 'usage',
  /** `policy test`: at least one case did not get the expected decision. */
  POLICY_TEST_FAILED: 'rejected',
  /** `policy eval` denied the request. */
  POLICY_DENIED: 'rejected',
  /** `policy diff --fail-on-widen`: the new policy allows something the old one denied. */
  POLICY_WIDENED: 'rejected',
  /** `audit verify` found tampering or a broken chain. */
  AUDIT_VERIFY_FAILED: 'rejected',
  /** `audit export --format` names an unknown format. */
  AUDIT_FORMAT_INVALID: 'usage',
});
