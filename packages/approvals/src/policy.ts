/**
 * The change policy, `.clawback/change-policy.yaml`. It is always read from the
 * target branch at the PR's base (never from the PR under review), so a PR cannot
 * lower the bar it is judged by (design §8). Parsing is pure; validation reports
 * every bad field at once with its path (house style 5).
 */
import { ClawbackError, parseDuration, sha256Hex, utf8 } from '@clawback/core';
import picomatch from 'picomatch';
import { parseDocument } from 'yaml';
import { ApprovalErrors } from './errors.js';

export const CHANGE_POLICY_PATH = '.clawback/change-policy.yaml';

export interface RequiredCheck {
  /** Check run name or commit status context. */
  name: string;
  /** GitHub App slug that must have produced it (e.g. `github-actions`); any app when absent. */
  app?: string;
}

export interface PathRule {
  /** Globs over repository paths (picomatch, `dot: true`). */
  paths: string[];
  /** Approvals needed from the listed teams/users for a change touching these paths. */
  approvals: number;
  /** Organisation team slugs (`policy-owners`, or `org/policy-owners`). */
  teams: string[];
  users: string[];
  /** Also require, for every touched file, an approval from its CODEOWNERS owners (read from the base). */
  codeowners: boolean;
}

export interface EnvironmentRule {
  /** Who may approve a deployment to this environment (empty: anyone qualifying). */
  teams: string[];
  users: string[];
}

export interface EmergencyRule {
  /** PR label that marks an emergency change. */
  label: string;
  /** The line in the PR body that gives the reason, e.g. `Emergency-Reason: …`. */
  reasonField: string;
  /** Label on the retro-review PR; its body must reference the emergency PR (`Retro-Review: #123`). */
  retroLabel: string;
  /** Hours after the emergency merge by which the retro review must be merged. */
  retroWithinHours: number;
}

export interface ChangePolicy {
  version: 1;
  approvals: {
    required: number;
    /** Accept an approval on an earlier commit when every later commit only merges the base in. */
    allowBaseUpdateAfterApproval: boolean;
  };
  checks: RequiredCheck[];
  pathRules: PathRule[];
  environments: Record<string, EnvironmentRule>;
  emergency: EmergencyRule | null;
  /** Branch patterns that must be protected (the target branch always must). */
  protectedBranches: string[];
  /** Extra accounts treated as bots (their approvals never count). */
  bots: string[];
}

export interface PolicySource {
  repo: string;
  ref: string;
  path: string;
  /** Git blob SHA from the contents API, when read from GitHub. */
  blobSha: string | null;
  sha256: string;
}

const TOP_KEYS = [
  'version',
  'approvals',
  'checks',
  'paths',
  'environments',
  'emergency',
  'protected_branches',
  'bots',
];

type Obj = Record<string, unknown>;

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
  /** Record a problem and contribute nothing to the parsed list. */
  none(path: string, message: string): [] {
    this.add(path, message);
    return [];
  }
  unknownKeys(value: Obj, allowed: readonly string[], path: string): void {
    for (const k of Object.keys(value)) {
      if (!allowed.includes(k))
        this.add(path ? `${path}.${k}` : k, `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function count(v: unknown, path: string, p: Problems, dflt: number, min = 0): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
    p.add(path, `must be a whole number >= ${min}`);
    return dflt;
  }
  return v;
}

function bool(v: unknown, path: string, p: Problems, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== 'boolean') {
    p.add(path, 'must be true or false');
    return dflt;
  }
  return v;
}

function str(v: unknown, path: string, p: Problems): string | undefined {
  if (typeof v !== 'string' || v.trim() === '') {
    p.add(path, 'must be a non-empty string');
    return undefined;
  }
  return v;
}

function strList(v: unknown, path: string, p: Problems, glob = false): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add(path, 'must be a list of strings');
    return [];
  }
  const out: string[] = [];
  v.forEach((x, i) => {
    const s = str(x, `${path}[${i}]`, p);
    if (s === undefined) return;
    if (glob) {
      try {
        picomatch(s);
      } catch {
        p.add(`${path}[${i}]`, `is not a valid glob: ${s}`);
        return;
      }
    }
    out.push(s);
  });
  return out;
}

function parseChecks(v: unknown, p: Problems): RequiredCheck[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('checks', 'must be a list');
    return [];
  }
  return v.flatMap((c, i): RequiredCheck[] => {
    const path = `checks[${i}]`;
    if (typeof c === 'string') return c.trim() ? [{ name: c }] : p.none(path, 'must not be empty');
    if (!isObj(c)) return p.none(path, 'must be a check name or {name, app}');
    p.unknownKeys(c, ['name', 'app'], path);
    const name = str(c.name, `${path}.name`, p);
    const app = c.app === undefined ? undefined : str(c.app, `${path}.app`, p);
    if (name === undefined) return [];
    return [app === undefined ? { name } : { name, app }];
  });
}

function parsePathRules(v: unknown, p: Problems): PathRule[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    p.add('paths', 'must be a list of {paths, teams, users, approvals}');
    return [];
  }
  return v.flatMap((r, i): PathRule[] => {
    const path = `paths[${i}]`;
    if (!isObj(r)) return p.none(path, 'must be a mapping');
    p.unknownKeys(r, ['paths', 'approvals', 'teams', 'users', 'codeowners'], path);
    const paths = strList(r.paths, `${path}.paths`, p, true);
    if (r.paths === undefined || (Array.isArray(r.paths) && r.paths.length === 0)) {
      p.add(`${path}.paths`, 'must list at least one glob');
    }
    const teams = strList(r.teams, `${path}.teams`, p);
    const users = strList(r.users, `${path}.users`, p);
    const codeowners = bool(r.codeowners, `${path}.codeowners`, p, false);
    if (teams.length === 0 && users.length === 0 && !codeowners) {
      p.add(path, 'must name at least one team or user, or set codeowners: true');
    }
    return [{ paths, approvals: count(r.approvals, `${path}.approvals`, p, 1, 1), teams, users, codeowners }];
  });
}

function parseEnvironments(v: unknown, p: Problems): Record<string, EnvironmentRule> {
  if (v === undefined) return {};
  if (!isObj(v)) {
    p.add('environments', 'must map environment names to {teams, users}');
    return {};
  }
  const out: Record<string, EnvironmentRule> = {};
  for (const [name, r] of Object.entries(v)) {
    const path = `environments.${name}`;
    if (r === null) {
      out[name] = { teams: [], users: [] };
      continue;
    }
    if (!isObj(r)) {
      p.add(path, 'must be a mapping with teams and/or users');
      continue;
    }
    p.unknownKeys(r, ['teams', 'users'], path);
    out[name] = { teams: strList(r.teams, `${path}.teams`, p), users: strList(r.users, `${path}.users`, p) };
  }
  return out;
}

function parseEmergency(v: unknown, p: Problems): EmergencyRule | null {
  if (v === undefined || v === null) return null;
  if (!isObj(v)) {
    p.add('emergency', 'must be a mapping');
    return null;
  }
  p.unknownKeys(v, ['label', 'reason_field', 'retro_review'], 'emergency');
  const label = str(v.label, 'emergency.label', p) ?? 'emergency';
  const reasonField =
    v.reason_field === undefined
      ? 'Emergency-Reason'
      : (str(v.reason_field, 'emergency.reason_field', p) ?? '');
  const retro = v.retro_review;
  let retroLabel = 'retro-review';
  let hours = 48;
  if (!isObj(retro)) {
    p.add('emergency.retro_review', 'must be a mapping {label, within}: an emergency needs a retro review');
  } else {
    p.unknownKeys(retro, ['label', 'within'], 'emergency.retro_review');
    if (retro.label !== undefined)
      retroLabel = str(retro.label, 'emergency.retro_review.label', p) ?? retroLabel;
    const within = str(retro.within, 'emergency.retro_review.within', p);
    if (within !== undefined) {
      try {
        hours = parseDuration(within) / 3_600_000;
      } catch {
        p.add('emergency.retro_review.within', `cannot read duration ${JSON.stringify(within)} (e.g. "48h")`);
      }
    }
  }
  return { label, reasonField, retroLabel, retroWithinHours: hours };
}

/** Validate a parsed YAML value. Throws CHANGE_POLICY_INVALID listing every problem. */
export function validateChangePolicy(value: unknown, source = CHANGE_POLICY_PATH): ChangePolicy {
  const p = new Problems();
  if (!isObj(value)) {
    throw policyError(source, ['(root): must be a mapping']);
  }
  p.unknownKeys(value, TOP_KEYS, '');
  if (value.version !== 1) p.add('version', 'must be 1');
  const a = value.approvals;
  let approvals: ChangePolicy['approvals'] = { required: 1, allowBaseUpdateAfterApproval: true };
  if (a !== undefined && !isObj(a)) p.add('approvals', 'must be a mapping {required, allow_base_update}');
  else if (isObj(a)) {
    p.unknownKeys(a, ['required', 'allow_base_update'], 'approvals');
    approvals = {
      required: count(a.required, 'approvals.required', p, 1, 1),
      allowBaseUpdateAfterApproval: bool(a.allow_base_update, 'approvals.allow_base_update', p, true),
    };
  }
  const policy: ChangePolicy = {
    version: 1,
    approvals,
    checks: parseChecks(value.checks, p),
    pathRules: parsePathRules(value.paths, p),
    environments: parseEnvironments(value.environments, p),
    emergency: parseEmergency(value.emergency, p),
    protectedBranches: strList(value.protected_branches, 'protected_branches', p, true),
    bots: strList(value.bots, 'bots', p),
  };
  if (p.list.length > 0) throw policyError(source, p.list);
  return policy;
}

/** Parse policy YAML text. YAML syntax errors and schema problems are reported together. */
export function parseChangePolicy(text: string, source = CHANGE_POLICY_PATH): ChangePolicy {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw policyError(
      source,
      doc.errors.map((e) => `line ${(e.linePos?.[0].line ?? 0) || '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  return validateChangePolicy(doc.toJS(), source);
}

export function policySourceOf(
  text: string,
  repo: string,
  ref: string,
  blobSha: string | null,
): PolicySource {
  return { repo, ref, path: CHANGE_POLICY_PATH, blobSha, sha256: sha256Hex(utf8(text)) };
}

function policyError(source: string, problems: string[]): ClawbackError {
  return new ClawbackError(
    ApprovalErrors.CHANGE_POLICY_INVALID,
    `invalid change policy ${source}: ${problems.join('; ')}`,
    {
      details: { problems },
      hint: `Fix ${CHANGE_POLICY_PATH} on the target branch (see docs/change-control.md); the policy is never read from the PR under review.`,
    },
  );
}

/** Whether a branch name matches one of the policy's protected-branch globs. */
export function branchMatches(patterns: readonly string[], branch: string): boolean {
  return patterns.some((g) => picomatch.isMatch(branch, g));
}

/** Files matched by a path rule. */
export function filesMatching(rule: PathRule, files: readonly string[]): string[] {
  const isMatch = picomatch(rule.paths, { dot: true });
  return files.filter((f) => isMatch(f));
}
