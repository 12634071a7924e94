import { defineErrorCodes } from '@clawback/core';

/**
 * Codes owned by the device updater. Refusals are `rejected` (exit 1): the update was
 * refused and the active slot was never touched. Codes raised by core, bundle and verify
 * (SIGNATURE_INVALID, PATH_TRAVERSAL, …) pass through unchanged so a report names the
 * check that actually failed.
 */
export const UpdaterErrors = defineErrorCodes({
  // configuration and provisioning
  UPDATER_CONFIG_INVALID: 'input',
  DEVICE_NOT_INITIALIZED: 'state',
  DEVICE_ALREADY_INITIALIZED: 'state',
  UPDATER_STATE_INVALID: 'state',
  UPDATE_IN_PROGRESS: 'state',
  NOTHING_TO_ROLL_BACK: 'state',
  NO_TRIAL_IN_PROGRESS: 'state',
  // refusals (the active slot is untouched)
  DOWNGRADE_REFUSED: 'rejected',
  RELEASE_REVOKED: 'rejected',
  HARDWARE_INCOMPATIBLE: 'rejected',
  UPDATER_TOO_OLD: 'rejected',
  TARGET_HASH_MISMATCH: 'rejected',
  TARGET_LENGTH_MISMATCH: 'rejected',
  TARGET_NOT_FOUND: 'rejected',
  MANIFEST_MISMATCH: 'rejected',
  PROVENANCE_MISSING: 'rejected',
  SIGSTORE_BUNDLE_MISSING: 'rejected',
  TUF_REFRESH_FAILED: 'rejected',
  // probation
  HEALTH_CHECK_FAILED: 'rejected',
  RESOURCE_LIMIT_EXCEEDED: 'rejected',
  BOOT_ATTEMPTS_EXCEEDED: 'rejected',
  MANUAL_ROLLBACK: 'rejected',
  // environment
  DISK_FULL: 'environment',
  SLOT_WRITE_FAILED: 'environment',
  SLOT_SWITCH_FAILED: 'environment',
  DOWNLOAD_FAILED: 'environment',
  RESTART_HOOK_FAILED: 'environment',
  CONSOLE_UNREACHABLE: 'environment',
  CONSOLE_REFUSED: 'rejected',
  REPORT_DELIVERY_FAILED: 'environment',
});

export type UpdaterErrorCode = keyof typeof UpdaterErrors;
