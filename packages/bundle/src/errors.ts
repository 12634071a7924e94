import { defineErrorCodes } from '@clawback/core';

/**
 * Codes owned by @clawback/bundle. Build-time refusals are `input` (fix the
 * directory and rebuild, exit 3); read-time refusals are `rejected` (the bundle
 * is hostile or corrupt, exit 1), so the two sides have different codes.
 */
export const BundleErrors = defineErrorCodes({
  /** agent.yaml (or a manifest object) fails the schema; details.problems lists every field. */
  MANIFEST_INVALID: 'input',
  AGENT_YAML_INVALID: 'input',
  /** A signed manifest failed the schema after its signature verified (signed garbage). */
  SIGNED_MANIFEST_INVALID: 'rejected',
  /** Build: the input directory holds something a bundle may not contain. */
  BUILD_ENTRY_REFUSED: 'input',
  /** Build: a file changed between hashing it and writing it into the tar. */
  BUILD_SOURCE_CHANGED: 'environment',
  BUILD_OUTPUT_EXISTS: 'state',
  /** Read: the tar itself is malformed (bad checksum, truncated, not a tar). */
  BUNDLE_TAR_INVALID: 'rejected',
  /** Read: absolute path, `..`, link leaving the bundle, device, hardlink, unknown type. */
  BUNDLE_ENTRY_UNSAFE: 'rejected',
  /** Read: an entry that the manifest does not list, listed twice, or of another type/mode. */
  BUNDLE_ENTRY_UNEXPECTED: 'rejected',
  /** Read: the manifest lists an entry the tar does not contain. */
  BUNDLE_ENTRY_MISSING: 'rejected',
  BUNDLE_DIGEST_MISMATCH: 'rejected',
  /** Read: the first member is not `clawback/manifest.json` or differs from the signed bytes. */
  BUNDLE_MANIFEST_MISMATCH: 'rejected',
  /** Read: a size cap was exceeded (entry count, file size, total size, manifest size). */
  BUNDLE_TOO_LARGE: 'rejected',
  /** Extract: the destination directory is not empty. */
  EXTRACT_DESTINATION_NOT_EMPTY: 'state',
  EXTRACT_WRITE_FAILED: 'environment',
  /** The caller's AbortSignal stopped a read or extraction (e.g. the updater is shutting down). */
  BUNDLE_READ_ABORTED: 'environment',
  /** Provenance from a CI environment: required variables are missing. */
  PROVENANCE_ENV_MISSING: 'environment',
});
