/**
 * The repository configuration (`repo.yaml` in the keys directory, see keys-template/):
 * which named keys hold each top-level role, the threshold, how long each role's
 * metadata lives, and how early `repo refresh` re-signs the online roles.
 * Validation reports every bad field at once (house style 5).
 */
import { ClawbackError, parseDuration } from '@clawback/core';
import { parse as parseYaml } from 'yaml';
import { TufRepoErrors } from './errors.js';

export const TOP_ROLES = ['root', 'targets', 'snapshot', 'timestamp'] as const;
export type TopRole = (typeof TOP_ROLES)[number];

export interface RoleConfig {
  threshold: number;
  /** Key names: `<keys dir>/<name>.pub` (and `<name>.key` where the private key is held). */
  keys: string[];
  /** Metadata lifetime, as written (`365 days`). */
  expires: string;
  expiresMs: number;
  /** Re-sign when less than this remains (online roles; `repo refresh`). */
  refreshBefore: string;
  refreshBeforeMs: number;
}

export type RepoConfig = Record<TopRole, RoleConfig>;

const DEFAULTS: Record<TopRole, { expires: string; refreshBefore: string }> = {
  root: { expires: '365 days', refreshBefore: '30 days' },
  targets: { expires: '90 days', refreshBefore: '14 days' },
  snapshot: { expires: '14 days', refreshBefore: '7 days' },
  timestamp: { expires: '1 day', refreshBefore: '12 hours' },
};

const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isTopRole(value: string): value is TopRole {
  return (TOP_ROLES as readonly string[]).includes(value);
}

/** Parse and validate `repo.yaml` text. `source` names the file in errors. */
export function parseRepoConfig(text: string, source: string): RepoConfig {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ClawbackError(TufRepoErrors.TUF_CONFIG_INVALID, `${source} is not valid YAML`, {
      cause,
      hint: 'Start from keys-template/repo.yaml.',
    });
  }
  const problems: string[] = [];
  const roles = isRecord(doc) && isRecord(doc.roles) ? doc.roles : undefined;
  if (!roles) problems.push('roles: must be a mapping of root, targets, snapshot, timestamp');
  const out: Partial<RepoConfig> = {};
  for (const role of TOP_ROLES) {
    const parsed = parseRole(roles?.[role], `roles.${role}`, DEFAULTS[role], problems);
    if (parsed) out[role] = parsed;
  }
  if (roles) {
    for (const extra of Object.keys(roles)) {
      if (!isTopRole(extra))
        problems.push(`roles.${extra}: unknown role (delegations are not configured here)`);
    }
  }
  if (problems.length > 0) {
    throw new ClawbackError(TufRepoErrors.TUF_CONFIG_INVALID, `${source}: ${problems.join('; ')}`, {
      hint: 'Fix the listed fields; keys-template/repo.yaml shows every field.',
      details: { problems },
    });
  }
  return out as RepoConfig;
}

function parseRole(
  value: unknown,
  path: string,
  defaults: { expires: string; refreshBefore: string },
  problems: string[],
): RoleConfig | undefined {
  if (!isRecord(value)) {
    problems.push(`${path}: missing (needs threshold and keys)`);
    return undefined;
  }
  const before = problems.length;
  const keys = Array.isArray(value.keys) ? value.keys : [];
  if (!Array.isArray(value.keys) || keys.length === 0)
    problems.push(`${path}.keys: must list at least one key name`);
  keys.forEach((k, i) => {
    if (typeof k !== 'string' || !KEY_NAME.test(k))
      problems.push(`${path}.keys[${i}]: must be a key file name`);
  });
  if (new Set(keys).size !== keys.length) problems.push(`${path}.keys: lists a key twice`);
  const threshold = value.threshold;
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1) {
    problems.push(`${path}.threshold: must be a whole number ≥ 1`);
  } else if (threshold > keys.length) {
    problems.push(`${path}.threshold: ${threshold} is more than the ${keys.length} key(s) listed`);
  }
  const expires = durationField(value.expires, defaults.expires, `${path}.expires`, problems);
  const refresh = durationField(
    value.refreshBefore,
    defaults.refreshBefore,
    `${path}.refreshBefore`,
    problems,
  );
  if (expires && refresh && refresh.ms >= expires.ms) {
    problems.push(`${path}.refreshBefore: must be shorter than expires`);
  }
  if (problems.length > before || !expires || !refresh) return undefined;
  return {
    threshold: threshold as number,
    keys: keys as string[],
    expires: expires.text,
    expiresMs: expires.ms,
    refreshBefore: refresh.text,
    refreshBeforeMs: refresh.ms,
  };
}

function durationField(
  value: unknown,
  fallback: string,
  path: string,
  problems: string[],
): { text: string; ms: number } | undefined {
  const text = value === undefined ? fallback : value;
  if (typeof text !== 'string') {
    problems.push(`${path}: must be a duration such as "30 days"`);
    return undefined;
  }
  try {
    const ms = parseDuration(text);
    if (ms <= 0) throw new Error('not positive');
    return { text, ms };
  } catch {
    problems.push(`${path}: cannot read duration ${JSON.stringify(text)} (write e.g. "12 hours", "90 days")`);
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
