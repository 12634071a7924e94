import { createRequire } from 'node:module';
import { ClawbackError } from '@clawback/core';
import type * as Yaml from 'yaml';
import { BundleErrors } from './errors.js';
import type { AgentSpec } from './manifest-types.js';
import { pathProblem } from './paths.js';
import { agentSpecSchemaProblems } from './schema.js';

// Only the build side reads agent.yaml: load the parser when it does, not with the package.
const load = createRequire(import.meta.url);
let yamlLib: typeof Yaml | undefined;
function yaml(): typeof Yaml {
  yamlLib ??= load('yaml') as typeof Yaml;
  return yamlLib;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Defaults applied to agent.yaml, documented in docs/bundle-format.md. */
export const AGENT_DEFAULTS = {
  probation_secs: 300,
  interval_secs: 10,
  exec_timeout_secs: 10,
  http_timeout_secs: 5,
  http_expect_status: 200,
  min_updater_version: '0.0.0',
} as const;

/**
 * Fill the shorthands operators use in agent.yaml: `entrypoint: bin/agent`,
 * `name` taken from `agent_profile.identifier`, health defaults. Only values of
 * the expected shape are touched; anything else is left for the schema to report.
 */
function expandShorthands(input: Obj): Obj {
  const out: Obj = { ...input };
  const profile = out.agent_profile;
  if (out.name === undefined && isObj(profile) && typeof profile.identifier === 'string') {
    out.name = profile.identifier;
  }
  if (typeof out.entrypoint === 'string') out.entrypoint = { path: out.entrypoint, args: [] };
  else if (isObj(out.entrypoint) && out.entrypoint.args === undefined) {
    out.entrypoint = { ...out.entrypoint, args: [] };
  }
  if (out.health === undefined) out.health = {};
  if (isObj(out.health)) {
    const h: Obj = { ...out.health };
    h.probation_secs ??= AGENT_DEFAULTS.probation_secs;
    h.interval_secs ??= AGENT_DEFAULTS.interval_secs;
    h.checks ??= [{ type: 'process' }];
    if (Array.isArray(h.checks)) h.checks = h.checks.map((c) => expandCheck(c, profile));
    out.health = h;
  }
  if (isObj(out.compatibility)) {
    const c: Obj = { ...out.compatibility };
    c.min_updater_version ??= AGENT_DEFAULTS.min_updater_version;
    if (typeof c.hardware === 'string') c.hardware = [c.hardware];
    out.compatibility = c;
  }
  if (typeof out.policy === 'string') out.policy = { path: out.policy };
  return out;
}

function expandCheck(check: unknown, profile: unknown): unknown {
  if (!isObj(check)) return check;
  const c: Obj = { ...check };
  if (c.type === 'exec') {
    if (typeof c.command === 'string') c.command = [c.command];
    c.timeout_secs ??= AGENT_DEFAULTS.exec_timeout_secs;
  } else if (c.type === 'http') {
    c.expect_status ??= AGENT_DEFAULTS.http_expect_status;
    c.timeout_secs ??= AGENT_DEFAULTS.http_timeout_secs;
  } else if (c.type === 'heartbeat' && c.max_age_secs === undefined) {
    // A missed beat is tolerated once: twice the interval the operator promised.
    const mon = isObj(profile) && isObj(profile.monitoring) ? profile.monitoring : undefined;
    const interval = mon?.heartbeat_interval_secs;
    if (typeof interval === 'number') c.max_age_secs = interval * 2;
  }
  return c;
}

/**
 * Parse agent.yaml text into an agent spec. Every problem is reported at once
 * with its field path (house style 5); YAML syntax errors carry line numbers.
 */
export function parseAgentYaml(text: string, source = 'agent.yaml'): AgentSpec {
  let raw: unknown;
  try {
    raw = yaml().parse(text, { uniqueKeys: true, prettyErrors: true, maxAliasCount: 50 });
  } catch (cause) {
    const msg = cause instanceof yaml().YAMLError ? cause.message : String(cause);
    throw new ClawbackError(BundleErrors.AGENT_YAML_INVALID, `${source} is not valid YAML: ${msg}`, {
      cause,
      hint: 'Fix the YAML syntax at the line shown.',
    });
  }
  return agentSpecFromObject(raw, source);
}

/** Validate an already-parsed agent spec object (YAML or JSON). */
export function agentSpecFromObject(raw: unknown, source = 'agent spec'): AgentSpec {
  if (!isObj(raw)) {
    throw new ClawbackError(BundleErrors.AGENT_YAML_INVALID, `${source}: must be a mapping of fields`, {
      hint: 'See docs/bundle-format.md for an example agent.yaml.',
    });
  }
  const value = expandShorthands(raw);
  const problems = agentSpecSchemaProblems(value);
  if (problems.length === 0) {
    const spec = value as AgentSpec;
    const ep = pathProblem(spec.entrypoint.path);
    if (ep) problems.push(`entrypoint.path: ${ep}`);
    if (spec.policy) {
      const pp = pathProblem(spec.policy.path);
      if (pp) problems.push(`policy.path: ${pp}`);
    }
  }
  if (problems.length > 0) {
    throw new ClawbackError(
      BundleErrors.AGENT_YAML_INVALID,
      `${source} is invalid:\n  ${problems.join('\n  ')}`,
      {
        hint: 'Fix the fields listed above (docs/bundle-format.md describes each one).',
        details: { problems },
      },
    );
  }
  return value as AgentSpec;
}
