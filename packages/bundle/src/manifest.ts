import { ClawbackError, canonicalJsonBytes, fromUtf8 } from '@clawback/core';
import { BundleErrors } from './errors.js';
import type { Manifest } from './manifest-types.js';
import { ancestorsOf, comparePaths, pathProblem, symlinkTargetProblem } from './paths.js';
import { manifestSchemaProblems } from './schema.js';

/** Largest manifest we parse (it is held in memory; 100k files fit well within). */
export const MAX_MANIFEST_BYTES = 32 * 1024 * 1024;

/**
 * Every problem with a manifest object, each as `field.path: what is wrong`.
 * Schema first, then the rules a schema cannot say: safe and unique sorted
 * paths, symlinks inside the bundle, the entrypoint and policy exist.
 */
export function manifestProblems(value: unknown): string[] {
  const schemaProblems = manifestSchemaProblems(value);
  if (schemaProblems.length > 0) return schemaProblems;
  const m = value as unknown as Manifest;
  const problems: string[] = [];
  const byPath = new Map<string, Manifest['files'][number]>();
  m.files.forEach((f, i) => {
    const bad = pathProblem(f.path);
    if (bad) problems.push(`files[${i}].path: ${bad}`);
    if (byPath.has(f.path)) problems.push(`files[${i}].path: duplicate of an earlier entry`);
    const prev = m.files[i - 1];
    if (prev && comparePaths(prev.path, f.path) >= 0 && !byPath.has(f.path)) {
      problems.push(`files[${i}].path: entries must be sorted by path`);
    }
    byPath.set(f.path, f);
    if (f.type === 'symlink') {
      const t = symlinkTargetProblem(f.path, f.target);
      if (t) problems.push(`files[${i}].target: ${t}`);
    }
  });
  m.files.forEach((f, i) => {
    for (const a of ancestorsOf(f.path)) {
      const parent = byPath.get(a);
      if (parent && parent.type !== 'directory') {
        problems.push(`files[${i}].path: parent ${a} is a ${parent.type}, not a directory`);
      }
    }
  });
  const entry = byPath.get(m.entrypoint.path);
  if (entry?.type !== 'file') {
    problems.push(`entrypoint.path: ${m.entrypoint.path} is not a file in the bundle`);
  } else if (entry.mode !== 0o755) {
    problems.push(`entrypoint.path: ${m.entrypoint.path} is not executable`);
  }
  if (m.policy) {
    const p = byPath.get(m.policy.path);
    if (p?.type !== 'file') problems.push(`policy.path: ${m.policy.path} is not a file in the bundle`);
    else if (p.sha256 !== m.policy.sha256) problems.push('policy.sha256: does not match the file entry');
  }
  m.health.checks.forEach((c, i) => {
    if (c.type === 'heartbeat') {
      const bad = pathProblem(c.path, { allowReserved: false });
      if (bad) problems.push(`health.checks[${i}].path: ${bad}`);
    }
  });
  return problems;
}

/** Validate untrusted manifest data. `signed` picks the error code: signed garbage is a rejection. */
export function validateManifest(
  value: unknown,
  options: { source?: string; signed?: boolean } = {},
): Manifest {
  const problems = manifestProblems(value);
  if (problems.length > 0) {
    const source = options.source ?? 'manifest';
    throw new ClawbackError(
      options.signed ? BundleErrors.SIGNED_MANIFEST_INVALID : BundleErrors.MANIFEST_INVALID,
      `${source} is invalid:\n  ${problems.join('\n  ')}`,
      {
        hint: options.signed
          ? 'The signers signed a manifest this version of Clawback cannot accept; rebuild the bundle.'
          : 'Fix the fields listed above.',
        details: { problems },
      },
    );
  }
  return value as Manifest;
}

/** The exact bytes stored as `clawback/manifest.json` and signed: RFC 8785 canonical JSON. */
export function encodeManifest(manifest: Manifest): Uint8Array {
  return canonicalJsonBytes(manifest);
}

/** Parse manifest bytes (already signature-checked when `signed`). */
export function decodeManifest(
  bytes: Uint8Array,
  options: { source?: string; signed?: boolean } = {},
): Manifest {
  const code = options.signed ? BundleErrors.SIGNED_MANIFEST_INVALID : BundleErrors.MANIFEST_INVALID;
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw new ClawbackError(
      BundleErrors.BUNDLE_TOO_LARGE,
      `manifest is larger than ${MAX_MANIFEST_BYTES} bytes`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(bytes));
  } catch (cause) {
    throw new ClawbackError(code, `${options.source ?? 'manifest'} is not UTF-8 JSON`, { cause });
  }
  return validateManifest(value, options);
}
