/**
 * Role policies: a directory of policy files, one per role
 * (`roles/production-agent.yaml`), selected per agent in the bundle manifest. The
 * manifest records `{path, sha256, role}`; the digest is over the exact file bytes,
 * so a device's reported active policy hash can be compared for drift.
 */
import { sha256Hex } from '@clawback/core';
import type { PolicyProblem } from './types.js';
import { validatePolicy } from './validate.js';

export interface RoleInfo {
  role: string;
  file: string;
  sha256: string;
  ok: boolean;
  description?: string;
  rules: number;
  errors: PolicyProblem[];
  warnings: PolicyProblem[];
}

/** What a bundle manifest records for the policy an agent runs under. */
export interface PolicyReference {
  path: string;
  sha256: string;
  role?: string;
}

export const ROLE_FILE = /^([A-Za-z0-9][A-Za-z0-9._-]*)\.ya?ml$/;

/** The role name of a policy file name, or undefined when it is not a role file. */
export function roleNameOf(fileName: string): string | undefined {
  return ROLE_FILE.exec(fileName)?.[1];
}

/** Validate every role file (already read by the caller), sorted by role name. */
export function describeRoles(files: readonly { name: string; bytes: Uint8Array }[]): RoleInfo[] {
  return files
    .flatMap((f) => {
      const role = roleNameOf(f.name);
      if (role === undefined) return [];
      const v = validatePolicy(f.bytes);
      return [
        {
          role,
          file: f.name,
          sha256: v.sha256,
          ok: v.ok,
          ...(v.policy?.description === undefined ? {} : { description: v.policy.description }),
          rules: v.policy?.rules.length ?? 0,
          errors: v.errors,
          warnings: v.warnings,
        },
      ];
    })
    .sort((a, b) => a.role.localeCompare(b.role));
}

export function policyReference(path: string, bytes: Uint8Array, role?: string): PolicyReference {
  return { path, sha256: sha256Hex(bytes), ...(role === undefined ? {} : { role }) };
}
