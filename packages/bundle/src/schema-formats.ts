import semver from 'semver';

/** The string formats the manifest and agent.yaml schemas use (shared by ajv and the generated validator). */
export const schemaFormats = {
  semver: (v: string) => semver.valid(v) !== null && semver.clean(v) === v,
  sha256: /^[0-9a-f]{64}$/,
};

/** ajv options shared by the run-time compiler and the generated manifest validator. */
export const AJV_OPTIONS = { allErrors: true, strict: true, strictTypes: false } as const;
