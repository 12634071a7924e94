// Only the functions used, not the semver barrel (which loads every range and comparator
// module): this file is on the start-up path of every verify and install.
import clean from 'semver/functions/clean.js';
import valid from 'semver/functions/valid.js';

/** The string formats the manifest and agent.yaml schemas use (shared by ajv and the generated validator). */
export const schemaFormats = {
  semver: (v: string) => valid(v) !== null && clean(v) === v,
  sha256: /^[0-9a-f]{64}$/,
};

/** ajv options shared by the run-time compiler and the generated manifest validator. */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictTypes: false } as const;
