import { defineErrorCodes } from '@clawback/core';

export const ReleaseErrors = defineErrorCodes({
  /** keys generate: NAME.key or NAME.pub already exists. */
  KEY_FILE_EXISTS: 'state',
  /** bundle sign: the existing .sig.json signs a different manifest (the bundle was rebuilt). */
  SIGNATURE_FILE_MISMATCH: 'state',
  /** provenance: the output file exists and was not written by this statement. */
  PROVENANCE_FILE_EXISTS: 'state',
});
