import { defineErrorCodes } from '@clawback/core';

/** Error codes of the device-side TUF client. */
export const TufClientErrors = defineErrorCodes({
  /** Metadata expired against the time floor (TUF 5.3.10, 5.4.4, 5.5.6, 5.6.5). */
  TUF_METADATA_EXPIRED: 'rejected',
  /** A metadata version went backwards (TUF 5.3.5, 5.4.3, 5.5.5). */
  TUF_METADATA_ROLLBACK: 'rejected',
  /** Signatures, hashes, lengths or versions between roles do not check out. */
  TUF_METADATA_INVALID: 'rejected',
  TUF_FETCH_FAILED: 'environment',
  /** A downloaded target's length or hashes differ from signed metadata (TUF 5.7.3). */
  TUF_TARGET_MISMATCH: 'rejected',
  TUF_TARGET_UNKNOWN: 'rejected',
  TUF_TARGET_REVOKED: 'rejected',
  TUF_CLIENT_NOT_INITIALIZED: 'state',
  TUF_TRUSTED_ROOT_INVALID: 'input',
  TUF_FLOOR_INVALID: 'state',
});
