import { defineErrorCodes } from '@clawback/core';

/** Error codes of the TUF image repository (`clawback repo …`, `release …`, `keys rotate`). */
export const TufRepoErrors = defineErrorCodes({
  TUF_CONFIG_INVALID: 'input',
  TUF_REPO_NOT_FOUND: 'input',
  TUF_REPO_EXISTS: 'state',
  TUF_REPO_CORRUPT: 'state',
  TUF_KEY_MISSING: 'environment',
  TUF_THRESHOLD_NOT_MET: 'environment',
  TUF_ROTATION_INVALID: 'usage',
  TUF_RELEASE_INVALID: 'rejected',
  TUF_RELEASE_EXISTS: 'state',
  TUF_RELEASE_REVOKED: 'state',
  TUF_DOWNGRADE_REFUSED: 'state',
  TUF_RELEASE_NOT_FOUND: 'input',
  TUF_TARGET_INVALID: 'input',
  TUF_ROOT_EXPIRING: 'state',
});
