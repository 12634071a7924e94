/**
 * `clawback policy …`: a thin shell over @clawback/policy (design §9). Each
 * command is an exported async function with an options object (testable
 * without the CLI framework); the specs below only read flags and print.
 */
import { readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import {
  AuditLog,
  ClawbackError,
  type CommandContext,
  type CommandSpec,
  CoreErrors,
  loadSigner,
  readFileChecked,
} from '@clawback/core';
import type {
  CasesReport,
  CompiledPolicy,
  LoggedDecision,
  PolicyDiff,
  PolicyRequest,
  PolicyValidation,
  RoleInfo,
} from '@clawback/policy';
import { ACTION_NAMES, MATCH_FIELDS } from '@clawback/policy/actions';

// Loaded when a policy command runs, not when the CLI starts (every other command's start-up).
const policyPkg = () => import('@clawback/policy');

async function readPolicy(file: string): Promise<{ bytes: Buffer; validation: PolicyValidation }> {
  const bytes = await readFileChecked(file, 'policy file');
  const { validatePolicy } = await policyPkg();
  return { bytes, validation: validatePolicy(bytes) };
}

/** Read, validate and compile a policy file; POLICY_INVALID (exit 3) lists every problem. */
export async function loadPolicyFile(file: string): Promise<CompiledPolicy> {
  const { validation } = await readPolicy(file);
  const { compilePolicy, invalidPolicyError } = await policyPkg();
  if (!validation.ok || !validation.policy) throw invalidPolicyError(validation, file);
  return compilePolicy(validation.policy, validation.sha256);
}

export interface ValidateResult extends PolicyValidation {
  file: string;
}

export async function policyValidate(opts: { files: readonly string[] }): Promise<ValidateResult[]> {
  const out: ValidateResult[] = [];
  for (const file of opts.files) out.push({ file, ...(await readPolicy(file)).validation });
  return out;
}

export interface EvalOptions {
  file: string;
  request: PolicyRequest;
  /** Append the decision to this audit log; an append failure turns the decision into a deny. */
  log?: string;
  /** Key (path or env:VAR) that signs the log's checkpoint. */
  logKey?: string;
  role?: string;
  agent?: string;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export async function policyEval(opts: EvalOptions): Promise<LoggedDecision & { policySha256: string }> {
  const { checkRequest, evaluate, evaluateAndLog } = await policyPkg();
  checkRequest(opts.request);
  const policy = await loadPolicyFile(opts.file);
  if (opts.log === undefined)
    return { ...evaluate(policy, opts.request), logged: false, policySha256: policy.sha256 };
  const signer = opts.logKey ? await loadSigner(opts.logKey, opts.env ?? process.env) : undefined;
  const ctx = {
    ...(opts.role === undefined ? {} : { role: opts.role }),
    ...(opts.agent === undefined ? {} : { agent: opts.agent }),
  };
  let decision: LoggedDecision;
  try {
    const log = await AuditLog.open(opts.log, {
      ...(signer ? { signer } : {}),
      ...(opts.now ? { now: opts.now } : {}),
      actor: 'clawback policy eval',
    });
    decision = await evaluateAndLog(policy, opts.request, log, ctx);
  } catch (err) {
    // Opening the log failed: the decision cannot be recorded, so it is a deny (fail closed).
    decision = await evaluateAndLog(policy, opts.request, { append: () => Promise.reject(err) }, ctx);
  }
  return { ...decision, policySha256: policy.sha256 };
}

export async function policyTest(opts: { file: string; cases: string }): Promise<CasesReport> {
  const policy = await loadPolicyFile(opts.file);
  const { parseCases, PolicyErrors, runCases } = await policyPkg();
  const parsed = parseCases(await readFileChecked(opts.cases, 'cases file'));
  if (parsed.errors.length > 0) {
    throw new ClawbackError(
      PolicyErrors.POLICY_CASES_INVALID,
      `${opts.cases} has ${parsed.errors.length} error(s):\n${parsed.errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`,
      {
        hint: 'Each case needs action, its target (path/command/url/host/name) and expect: allow|deny.',
        details: { problems: parsed.errors },
      },
    );
  }
  return runCases(policy, parsed.cases);
}

export async function policyDiff(opts: { old: string; new: string }): Promise<PolicyDiff> {
  const { diffPolicies } = await policyPkg();
  return diffPolicies(await loadPolicyFile(opts.old), await loadPolicyFile(opts.new));
}

export async function policyRoles(opts: { dir: string }): Promise<(RoleInfo & { path: string })[]> {
  let names: string[];
  try {
    names = (await readdir(opts.dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  } catch (cause) {
    throw new ClawbackError(CoreErrors.FILE_NOT_FOUND, `cannot read role directory ${opts.dir}`, {
      cause,
      hint: 'Pass the directory holding one <role>.yaml policy per role, e.g. policies/roles.',
    });
  }
  const files = await Promise.all(
    names
      .sort()
      .map(async (name) => ({ name, bytes: await readFileChecked(join(opts.dir, name), 'role policy') })),
  );
  const { describeRoles } = await policyPkg();
  return describeRoles(files).map((r) => ({ ...r, path: join(opts.dir, r.file) }));
}

function requestFrom(ctx: CommandContext): PolicyRequest {
  const req: PolicyRequest = { action: ctx.requireString('action') };
  for (const f of MATCH_FIELDS) {
    const v = ctx.string(f);
    if (v !== undefined) req[f] = v;
  }
  return req;
}

const targetOptions = {
  action: { type: 'string', valueName: 'ACTION', description: `the action (${ACTION_NAMES.join(', ')})` },
  path: { type: 'string', valueName: 'PATH', description: 'file path (file.*)' },
  command: { type: 'string', valueName: 'CMD', description: 'command line (shell.execute, process.spawn)' },
  url: { type: 'string', valueName: 'URL', description: 'URL (network.http)' },
  host: { type: 'string', valueName: 'HOST[:PORT]', description: 'host (network.connect, network.http)' },
  name: { type: 'string', valueName: 'NAME', description: 'variable or secret name (env.read, secret.read)' },
} as const;

/** `clawback policy …` commands. */
export const policyCommands: CommandSpec[] = [
  {
    name: 'policy validate',
    summary: 'validate policy files: every error with its path, shadowed rules as warnings',
    args: [{ name: 'FILE', description: 'policy YAML file(s)', variadic: true }],
    exitCodes: [{ code: 1, meaning: 'at least one policy has errors (warnings alone do not fail)' }],
    examples: [
      'clawback policy validate policies/*.yaml',
      'clawback policy validate roles/production-agent.yaml --json',
    ],
    async run(ctx) {
      if (ctx.args.length === 0) throw new ClawbackError(CoreErrors.USAGE, 'missing argument FILE');
      const results = await policyValidate({ files: ctx.args });
      const { formatProblems } = await policyPkg();
      const ok = results.every((r) => r.ok);
      ctx.result(
        { ok, results: results.map(({ policy: _p, ...r }) => r) },
        results
          .map((r) =>
            [`${r.ok ? 'ok' : 'INVALID'}  ${r.file}  sha256:${r.sha256}`, ...formatProblems(r.file, r)].join(
              '\n',
            ),
          )
          .join('\n'),
      );
      return ok ? 0 : 1;
    },
  },
  {
    name: 'policy eval',
    summary: 'decide one request: allow or deny, the matching rule and its reason',
    args: [{ name: 'FILE', description: 'policy YAML file' }],
    options: {
      ...targetOptions,
      log: {
        type: 'string',
        valueName: 'AUDIT_LOG',
        description: 'append the decision to this hash-chained audit log',
      },
      'log-key': {
        type: 'string',
        valueName: 'KEY',
        description: 'key (file or env:VAR) signing the log checkpoint',
      },
      role: { type: 'string', valueName: 'ROLE', description: 'role name recorded with the decision' },
      agent: {
        type: 'string',
        valueName: 'ID',
        description: 'agent or device id recorded with the decision',
      },
    },
    exitCodes: [
      { code: 0, meaning: 'allowed' },
      { code: 1, meaning: 'denied (including: the decision could not be logged)' },
    ],
    examples: [
      'clawback policy eval policy.yaml --action file.read --path src/index.ts',
      'clawback policy eval policy.yaml --action shell.execute --command "sudo rm -rf /" --log audit.log',
    ],
    async run(ctx) {
      const d = await policyEval({
        file: ctx.requireArg(0),
        request: requestFrom(ctx),
        ...(ctx.string('log') === undefined ? {} : { log: ctx.string('log') as string }),
        ...(ctx.string('log-key') === undefined ? {} : { logKey: ctx.string('log-key') as string }),
        ...(ctx.string('role') === undefined ? {} : { role: ctx.string('role') as string }),
        ...(ctx.string('agent') === undefined ? {} : { agent: ctx.string('agent') as string }),
        env: ctx.env,
        now: () => ctx.now(),
      });
      const at = d.ruleIndex >= 0 ? `rules[${d.ruleIndex}]` : 'no rule';
      ctx.result(
        {
          decision: d.decision,
          ruleIndex: d.ruleIndex,
          rule: d.rule ?? null,
          reason: d.reason,
          policySha256: d.policySha256,
          logged: d.logged,
          ...(d.logError ? { logError: d.logError } : {}),
        },
        `${d.decision.toUpperCase()} by ${at}: ${d.reason}${d.logged ? ' (logged)' : ''}`,
      );
      if (d.logError)
        ctx.progress(`warning: decision denied because it could not be logged: ${d.logError.message}`);
      return d.decision === 'allow' ? 0 : 1;
    },
  },
  {
    name: 'policy test',
    summary: 'run table-driven cases against a policy; each miss is named',
    args: [{ name: 'FILE', description: 'policy YAML file' }],
    options: {
      cases: {
        type: 'string',
        valueName: 'CASES',
        description: 'cases YAML: cases: [{case, action, path|command|url|host|name, expect, rule?}]',
      },
    },
    exitCodes: [{ code: 1, meaning: 'at least one case got a different decision or rule' }],
    examples: ['clawback policy test roles/production-agent.yaml --cases roles/production-agent.cases.yaml'],
    async run(ctx) {
      const report = await policyTest({ file: ctx.requireArg(0), cases: ctx.requireString('cases') });
      const misses = report.results.flatMap((r) => (r.miss ? [`  MISS ${r.miss}`] : []));
      ctx.result(report, [`${report.passed} passed, ${report.failed} failed`, ...misses].join('\n'));
      return report.ok ? 0 : 1;
    },
  },
  {
    name: 'policy diff',
    summary: 'rules added/removed/changed/moved and WIDENED permissions between two policies',
    args: [
      { name: 'OLD', description: 'the policy before the change' },
      { name: 'NEW', description: 'the policy after the change' },
    ],
    options: {
      'fail-on-widen': {
        type: 'boolean',
        description: 'exit 1 when the change can widen permissions (requiresApproval)',
      },
    },
    exitCodes: [
      { code: 1, meaning: 'with --fail-on-widen: the new policy can allow something the old one denied' },
    ],
    examples: [
      'clawback policy diff base/policy.yaml policy.yaml --fail-on-widen',
      'clawback policy diff old.yaml new.yaml --json',
    ],
    async run(ctx) {
      const oldFile = ctx.requireArg(0);
      const newFile = ctx.requireArg(1);
      const d = await policyDiff({ old: oldFile, new: newFile });
      const { formatDiff } = await policyPkg();
      ctx.result(d, formatDiff(d, oldFile, newFile));
      return ctx.flag('fail-on-widen') && d.requiresApproval ? 1 : 0;
    },
  },
  {
    name: 'policy roles',
    summary: 'list the role policies in a directory with their digests (for the bundle manifest)',
    args: [{ name: 'DIR', description: 'directory with one <role>.yaml per role' }],
    exitCodes: [{ code: 1, meaning: 'at least one role policy has errors' }],
    examples: ['clawback policy roles examples/policies/roles --json'],
    async run(ctx) {
      const roles = await policyRoles({ dir: ctx.requireArg(0) });
      const { formatProblems } = await policyPkg();
      const ok = roles.every((r) => r.ok);
      ctx.result(
        {
          ok,
          roles: roles.map((r) => ({
            role: r.role,
            path: r.path,
            sha256: r.sha256,
            ok: r.ok,
            rules: r.rules,
            description: r.description ?? null,
            errors: r.errors,
            warnings: r.warnings,
          })),
        },
        roles.length === 0
          ? `no role policies (*.yaml) in ${ctx.requireArg(0)}`
          : roles
              .map((r) =>
                [
                  `${r.role.padEnd(24)} ${r.ok ? 'ok     ' : 'INVALID'} sha256:${r.sha256}  ${basename(r.path)}  ${r.rules} rules`,
                  ...formatProblems(r.path, r),
                ].join('\n'),
              )
              .join('\n'),
      );
      return ok ? 0 : 1;
    },
  },
];
