import { basename, resolve } from 'node:path';
import {
  ClawbackError,
  type CommandContext,
  type CommandSpec,
  CoreErrors,
  ExitCode,
  hashFile,
  loadPublicKey,
  loadSigner,
  parseSince,
  writeFileAtomic,
} from '@clawback/core';

// Loaded when a command runs, not when the CLI starts (start-up time and memory on small machines).
const approvalsPkg = () => import('@clawback/approvals');

/** Seams for tests: a fake `fetch` replays recorded GitHub exchanges. */
export interface ApproveCommandDeps {
  fetch?: typeof fetch;
}

const TOKEN_HELP =
  'GitHub access: GITHUB_TOKEN (or GH_TOKEN), or a GitHub App installation via CLAWBACK_GITHUB_APP_ID, CLAWBACK_GITHUB_APP_PRIVATE_KEY and CLAWBACK_GITHUB_APP_INSTALLATION_ID; GITHUB_API_URL for GitHub Enterprise Server. Needs read access to Contents, Pull requests, Checks, Commit statuses, Actions and Metadata; branch protection and rule suites also need Administration: read, which GITHUB_TOKEN can never have — without it the record says "not verified: …" instead of guessing.';

async function client(ctx: CommandContext, deps: ApproveCommandDeps) {
  const approvals = await approvalsPkg();
  const creds = approvals.githubClientOptionsFromEnv(ctx.env);
  const gh = approvals.createGitHubClient({
    ...creds,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    onWait: (m) => ctx.progress(m),
  });
  return { gh, apiBase: (creds.baseUrl ?? approvals.GITHUB_API_BASE).replace(/\/+$/, '') };
}

function repoOption(ctx: CommandContext): { owner: string; repo: string } {
  const raw = ctx.requireString('repo');
  const m = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(raw);
  if (!m?.[1] || !m[2])
    throw new ClawbackError(CoreErrors.USAGE, `--repo must be OWNER/REPO, got ${JSON.stringify(raw)}`);
  return { owner: m[1], repo: m[2] };
}

/** A key reference: `env:VAR`, or a path relative to the working directory. */
function keyRef(ctx: CommandContext, ref: string): string {
  return ref.startsWith('env:') ? ref : resolve(ctx.io.cwd, ref);
}

function dateOption(ctx: CommandContext, name: string): Date {
  const raw = ctx.requireString(name);
  if (!/^\d{4}-\d{2}-\d{2}/.test(raw)) {
    throw new ClawbackError(
      CoreErrors.USAGE,
      `--${name} must be an ISO date or time (2026-01-01 or 2026-01-01T00:00:00Z), got ${JSON.stringify(raw)}`,
    );
  }
  return parseSince(raw, ctx.now());
}

export function makeApproveCommands(deps: ApproveCommandDeps = {}): CommandSpec[] {
  return [
    {
      name: 'approve check',
      summary:
        'check a shipped commit was approved per the change policy; write a signed CC8.1 change record',
      description: `Collects the evidence through the GitHub REST API, decides with the policy in .clawback/change-policy.yaml read from the target branch (never from the PR), prints a summary, and with --out writes a signed change record (in-toto statement, predicate https://clawback.dev/change-record/v1). ${TOKEN_HELP}`,
      options: {
        repo: { type: 'string', valueName: 'OWNER/REPO', description: 'the repository' },
        commit: {
          type: 'string',
          valueName: 'SHA',
          description: 'the commit that shipped (merge, squash or rebase commit)',
        },
        branch: {
          type: 'string',
          valueName: 'BRANCH',
          description: 'branch for a commit without a PR (default: the default branch)',
        },
        environment: {
          type: 'string',
          valueName: 'NAME',
          description: 'rollout: the deployment environment that must be approved',
        },
        'run-id': {
          type: 'string',
          valueName: 'ID',
          description: 'rollout: the workflow run that deployed (with --environment)',
        },
        key: {
          type: 'string',
          valueName: 'KEY',
          description: 'signing key for the record (path or env:VAR)',
        },
        bundle: {
          type: 'string',
          valueName: 'FILE',
          description: 'the bundle this change shipped; its sha256 becomes a record subject',
        },
        out: {
          type: 'string',
          valueName: 'FILE',
          description: 'write the signed change record here (needs --key)',
        },
      },
      exitCodes: [
        {
          code: ExitCode.REJECTED,
          meaning: 'not approved: the summary names each failed rule (CHANGE_NOT_APPROVED)',
        },
        { code: ExitCode.INPUT, meaning: 'change policy missing/invalid, or repository/commit not found' },
        { code: ExitCode.ENVIRONMENT, meaning: 'no GitHub credentials, or GitHub/network failed' },
      ],
      examples: [
        'clawback approve check --repo acme/agents --commit 4f2a… --key env:RELEASE_KEY --bundle dist/bundle.clawback --out change-record.json',
        'clawback approve check --repo acme/agents --commit 4f2a… --environment production --run-id 123456 --json',
      ],
      async run(ctx) {
        const approvals = await approvalsPkg();
        const r = repoOption(ctx);
        const out = ctx.string('out');
        const keyRefArg = ctx.string('key');
        if (out && !keyRefArg)
          throw new ClawbackError(CoreErrors.USAGE, '--out needs --key: change records are always signed');
        const env = ctx.string('environment');
        const runId = ctx.integer('run-id', { min: 1 });
        if ((env === undefined) !== (runId === undefined)) {
          throw new ClawbackError(CoreErrors.USAGE, '--environment and --run-id go together');
        }
        const signer = keyRefArg ? await loadSigner(keyRef(ctx, keyRefArg), ctx.env) : undefined;
        const bundlePath = ctx.string('bundle');
        const bundle = bundlePath
          ? { name: basename(bundlePath), sha256: (await hashFile(resolve(ctx.io.cwd, bundlePath))).sha256 }
          : undefined;
        const { gh, apiBase } = await client(ctx, deps);
        const branch = ctx.string('branch');
        const result = await approvals.approveCheck({
          client: gh,
          ...r,
          commit: ctx.requireString('commit'),
          ...(branch ? { branch } : {}),
          ...(env !== undefined && runId !== undefined ? { environment: env, runId } : {}),
          now: ctx.now(),
          apiBase,
          ...(signer ? { signer } : {}),
          ...(bundle ? { bundle } : {}),
          progress: (m) => ctx.progress(m),
        });
        if (out && result.envelope) {
          await writeFileAtomic(resolve(ctx.io.cwd, out), `${JSON.stringify(result.envelope, null, 2)}\n`);
        }
        const d = result.decision;
        ctx.result(
          {
            ok: d.approved,
            status: d.status,
            failedRules: d.failedRules,
            findings: d.findings,
            qualifyingApprovers: d.qualifyingApprovers,
            pullRequest: result.statement.predicate.pullRequest,
            commit: result.evidence.commit,
            notVerified: result.evidence.notVerified,
            ...(out ? { record: resolve(ctx.io.cwd, out) } : {}),
          },
          `${approvals.formatDecision(result.evidence, d)}${out ? `\nsigned change record: ${out}` : ''}`,
        );
        if (!d.approved && !ctx.json) {
          ctx.io.stderr.write(
            `clawback: error[${approvals.ApprovalErrors.CHANGE_NOT_APPROVED}]: not approved: ${d.failedRules.join(', ')}\n`,
          );
        }
        return d.approved ? ExitCode.OK : ExitCode.REJECTED;
      },
    },
    {
      name: 'evidence pack',
      summary: 'assemble an offline-verifiable SOC 2 CC8.1 evidence pack for a period',
      description: `The population comes from the deploy side: every bundle release in the TUF repository's targets metadata and every access-policy change on the default branch, each reconciled to a merged PR through its change record (from --records, or collected now and signed with --key). Changes without an approved PR are exceptions. Includes audit-log exports with verification reports, summary statistics, index.html, evidence.json and a signed manifest of every file. ${TOKEN_HELP}`,
      options: {
        repo: { type: 'string', valueName: 'OWNER/REPO', description: 'the repository' },
        since: { type: 'string', valueName: 'DATE', description: 'period start (ISO date/time, inclusive)' },
        until: { type: 'string', valueName: 'DATE', description: 'period end (ISO date/time, inclusive)' },
        out: {
          type: 'string',
          valueName: 'DIR',
          description: 'new directory for the pack (must not exist or be empty)',
        },
        'tuf-repo': {
          type: 'string',
          valueName: 'DIR',
          description: 'the TUF repository (its metadata/ lists every release)',
        },
        records: {
          type: 'string',
          valueName: 'DIR',
          description: 'change records written by `approve check --out`',
        },
        'record-key': {
          type: 'string',
          multiple: true,
          valueName: 'PUB',
          description: 'extra public key trusted for stored records (repeatable)',
        },
        'audit-log': {
          type: 'string',
          multiple: true,
          valueName: 'LOG',
          description: 'audit log to export and verify (repeatable)',
        },
        'audit-key': {
          type: 'string',
          multiple: true,
          valueName: 'PUB',
          description: 'public key that signs audit checkpoints (repeatable)',
        },
        'policy-path': {
          type: 'string',
          multiple: true,
          valueName: 'PATH',
          description: 'repository path of access policies (default: policies)',
        },
        key: {
          type: 'string',
          valueName: 'KEY',
          description: 'signing key for the manifest and new records (path or env:VAR)',
        },
      },
      exitCodes: [
        {
          code: ExitCode.INPUT,
          meaning:
            'bad period, unreadable TUF repository or records, or a stored record that does not verify',
        },
        { code: ExitCode.STATE, meaning: '--out already holds files (EVIDENCE_OUT_EXISTS)' },
      ],
      examples: [
        'clawback evidence pack --repo acme/agents --since 2026-01-01 --until 2026-03-31 --tuf-repo repo --records records --audit-log /var/lib/clawback/audit.log --key env:RELEASE_KEY --out evidence-2026Q1',
      ],
      async run(ctx) {
        const approvals = await approvalsPkg();
        const r = repoOption(ctx);
        const since = dateOption(ctx, 'since');
        const until = dateOption(ctx, 'until');
        const outDir = resolve(ctx.io.cwd, ctx.requireString('out'));
        const signer = await loadSigner(keyRef(ctx, ctx.requireString('key')), ctx.env);
        const keys = async (name: string) =>
          Promise.all(ctx.strings(name).map((k) => loadPublicKey(keyRef(ctx, k), ctx.env)));
        const tuf = ctx.string('tuf-repo');
        const records = ctx.string('records');
        const policyPaths = ctx.strings('policy-path');
        const { gh, apiBase } = await client(ctx, deps);
        const res = await approvals.buildEvidencePack({
          client: gh,
          ...r,
          since,
          until,
          outDir,
          ...(tuf ? { tufRepoDir: resolve(ctx.io.cwd, tuf) } : {}),
          ...(records ? { recordsDir: resolve(ctx.io.cwd, records) } : {}),
          recordKeys: await keys('record-key'),
          auditLogs: ctx.strings('audit-log').map((p) => resolve(ctx.io.cwd, p)),
          auditKeys: await keys('audit-key'),
          ...(policyPaths.length ? { policyPaths } : {}),
          signer,
          now: ctx.now(),
          apiBase,
          progress: (m) => ctx.progress(m),
        });
        const s = res.evidence.summary;
        ctx.result(
          { ok: true, dir: res.dir, files: res.files, summary: s },
          `evidence pack ${res.dir} (${res.files} files)\n  changes ${s.changes} (releases ${s.releases}, policy ${s.policyChanges}); approved ${s.approved}; exceptions ${s.exceptions}; emergency ${s.emergencyChanges}; rollbacks ${s.rollbacks}\n  audit logs verified ${s.auditLogsVerified}/${s.auditLogs}\n  open ${resolve(res.dir, 'index.html')}`,
        );
        return ExitCode.OK;
      },
    },
    {
      name: 'evidence verify',
      summary: 'verify an evidence pack offline: every signature and hash link',
      description:
        'Checks the signed manifest, every file hash, each change record signature and its agreement with evidence.json, each audit log chain against its stored report and export, the summary statistics, index.html and the TUF population. Needs no network.',
      args: [{ name: 'DIR', description: 'the evidence pack directory' }],
      options: {
        'trusted-key': {
          type: 'string',
          multiple: true,
          valueName: 'PUB',
          description: 'public key the manifest must be signed by (repeatable; strongly recommended)',
        },
      },
      exitCodes: [
        {
          code: ExitCode.REJECTED,
          meaning: 'the pack is not intact: each problem is named (EVIDENCE_PACK_INVALID)',
        },
      ],
      examples: ['clawback evidence verify evidence-2026Q1 --trusted-key release.pub'],
      async run(ctx) {
        const approvals = await approvalsPkg();
        const trustedKeys = await Promise.all(
          ctx.strings('trusted-key').map((k) => loadPublicKey(k, ctx.env)),
        );
        const report = await approvals.verifyEvidencePack(resolve(ctx.io.cwd, ctx.requireArg(0)), {
          trustedKeys,
        });
        const lines = [
          `${report.ok ? 'OK' : 'INVALID'}: ${report.dir} — ${report.files} files, ${report.changes} changes, ${report.exceptions} exceptions, signed by ${report.signedBy.join(', ') || 'nobody trusted'}`,
          ...report.warnings.map((w) => `  warn: ${w}`),
          ...report.problems.map((p) => `  ${p.code} ${p.path}: ${p.message}`),
        ];
        ctx.result(report, lines.join('\n'));
        if (!report.ok && !ctx.json) {
          ctx.io.stderr.write(
            `clawback: error[${approvals.ApprovalErrors.EVIDENCE_PACK_INVALID}]: ${report.problems.length} problem(s): ${[...new Set(report.problems.map((p) => p.code))].join(', ')}\n`,
          );
        }
        return report.ok ? ExitCode.OK : ExitCode.REJECTED;
      },
    },
  ];
}

/** `clawback approve …` and `clawback evidence …` commands. */
export const approveCommands: CommandSpec[] = makeApproveCommands();
