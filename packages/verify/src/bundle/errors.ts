import { defineErrorCodes } from '@clawback/core';

/** Codes owned by bundle verification (provenance policy, version policy, compatibility). */
export const BundleVerifyErrors = defineErrorCodes({
  /** Provenance statement is malformed (not a SLSA v1 predicate). */
  PROVENANCE_INVALID: 'rejected',
  PROVENANCE_PREDICATE_TYPE: 'rejected',
  /** The statement's subject digest is not the bundle's SHA-256. */
  PROVENANCE_SUBJECT_MISMATCH: 'rejected',
  PROVENANCE_BUILD_TYPE_NOT_ALLOWED: 'rejected',
  PROVENANCE_EXTERNAL_PARAMETERS_UNKNOWN: 'rejected',
  PROVENANCE_REPOSITORY_MISMATCH: 'rejected',
  PROVENANCE_WORKFLOW_MISMATCH: 'rejected',
  PROVENANCE_REF_MISMATCH: 'rejected',
  /** The provenance policy itself is unusable (bad regex, bad repository name). */
  PROVENANCE_POLICY_INVALID: 'usage',
  VERSION_INVALID: 'rejected',
  /** The candidate is older than what is installed (rollback attack). */
  VERSION_DOWNGRADE: 'rejected',
  /** The candidate is older than the pinned minimum version. */
  VERSION_BELOW_FLOOR: 'rejected',
  HARDWARE_INCOMPATIBLE: 'rejected',
  UPDATER_TOO_OLD: 'rejected',
  /** Summary code when any named check of a bundle verification failed. */
  BUNDLE_VERIFICATION_FAILED: 'rejected',
});
