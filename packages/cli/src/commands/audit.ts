/**
 * `clawback audit …`: verify, export and summarize any Clawback audit log
 * (device, console or policy decisions: design §10). The chain checks are core's
 * `verifyAuditChain`; naming, export and summary are @clawback/policy's pure
 * report functions. Reads only; `--out` is written atomically.
 */
import {
  type AuditEntry,
  type AuditFileText,
  ClawbackError,
  type CommandSpec,
  isoSeconds,
  loadPublicKey,
  parseAuditEntries,
  parseSince,
  readAuditLog,
  sha256Hex,
  verifyAuditChain,
  writeFileAtomic,
} from '@clawback/core';
import type { AuditSummary, AuditVerdict } from '@clawback/policy';

// Loaded when an audit command runs, not when the CLI starts.
const policyPkg = () => import('@clawback/policy');

export interface VerifyOptions {
  log: string;
  /** Public keys (paths or env:VAR) allowed to sign checkpoints. Giving any requires a checkpoint. */
  trustedKeys?: readonly string[];
  requireCheckpoint?: boolean;
  requireComplete?: boolean;
  env?: NodeJS.ProcessEnv;
}

async function readLog(log: string, keys: readonly string[] = [], env: NodeJS.ProcessEnv = process.env) {
  const trusted = await Promise.all(keys.map((k) => loadPublicKey(k, env)));
  const { files, checkpoint } = await readAuditLog(log);
  const report = verifyAuditChain({
    files,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    ...(trusted.length > 0 ? { trustedKeys: trusted } : {}),
  });
  return { files, report };
}

export async function auditVerify(opts: VerifyOptions): Promise<AuditVerdict> {
  const keys = opts.trustedKeys ?? [];
  const { files, report } = await readLog(opts.log, keys, opts.env);
  const { nameAuditProblems } = await policyPkg();
  return nameAuditProblems(report, files, {
    requireCheckpoint: (opts.requireCheckpoint ?? false) || keys.length > 0,
    requireComplete: opts.requireComplete ?? false,
  });
}

export interface Period {
  since?: string;
  until?: string;
  now: Date;
}

function resolvePeriod(p: Period): { since?: Date; until?: Date } {
  return {
    ...(p.since === undefined ? {} : { since: parseSince(p.since, p.now) }),
    ...(p.until === undefined ? {} : { until: parseSince(p.until, p.now) }),
  };
}

async function periodEntries(log: string, p: Period & { kinds?: readonly string[] }) {
  const { files, report } = await readLog(log);
  const period = resolvePeriod(p);
  const { filterEntries } = await policyPkg();
  const entries = filterEntries(parseAuditEntries(files), {
    ...period,
    ...(p.kinds ? { kinds: p.kinds } : {}),
  });
  return { files, report, entries, period };
}

export interface ExportOptions extends Period {
  log: string;
  format: 'json' | 'csv';
  kinds?: readonly string[];
}

export interface ExportResult {
  content: string;
  entries: number;
  verdict: AuditVerdict;
}

export async function auditExport(opts: ExportOptions): Promise<ExportResult> {
  const { files, report, entries, period } = await periodEntries(opts.log, opts);
  const { auditToCsv, nameAuditProblems } = await policyPkg();
  const verdict = nameAuditProblems(report, files as AuditFileText[]);
  const content =
    opts.format === 'csv'
      ? auditToCsv(entries)
      : `${JSON.stringify(
          {
            log: opts.log,
            exportedAt: isoSeconds(opts.now),
            since: period.since?.toISOString() ?? null,
            until: period.until?.toISOString() ?? null,
            verification: { ok: verdict.ok, tampering: verdict.tampering, problems: verdict.problems },
            entries: entries as AuditEntry[],
          },
          null,
          2,
        )}\n`;
  return { content, entries: entries.length, verdict };
}

export async function auditSummary(
  opts: Period & { log: string; expectedPolicyHash?: string; top?: number },
): Promise<AuditSummary & { verification: { ok: boolean; tampering: string[] } }> {
  const { files, report, entries, period } = await periodEntries(opts.log, opts);
  const { nameAuditProblems, summarizeAudit } = await policyPkg();
  const verdict = nameAuditProblems(report, files);
  const summary = summarizeAudit(entries, {
    ...period,
    ...(opts.expectedPolicyHash ? { expectedPolicyHash: opts.expectedPolicyHash } : {}),
    ...(opts.top === undefined ? {} : { top: opts.top }),
  });
  return { ...summary, verification: { ok: verdict.ok, tampering: verdict.tampering } };
}

const periodOptions = {
  since: {
    type: 'string',
    valueName: 'WHEN',
    description: 'start: ISO date, "30 days", or today|week|month|quarter|year',
  },
  until: { type: 'string', valueName: 'WHEN', description: 'end (same forms as --since)' },
} as const;

/** `clawback audit …` commands. */
export const auditCommands: CommandSpec[] = [
  {
    name: 'audit verify',
    summary:
      'verify a hash-chained audit log; name each problem (edited, deleted, reordered, truncated, rotation link)',
    args: [
      {
        name: 'LOG',
        description: 'the live log file (rotated files and the checkpoint beside it are found)',
      },
    ],
    options: {
      'trusted-key': {
        type: 'string',
        multiple: true,
        valueName: 'PUB',
        description: 'public key allowed to sign checkpoints (makes a checkpoint required)',
      },
      'require-checkpoint': { type: 'boolean', description: 'fail when the log has no checkpoint' },
      'require-complete': {
        type: 'boolean',
        description: 'fail when the oldest files were removed (chain does not start at entry 1)',
      },
    },
    exitCodes: [
      { code: 1, meaning: 'the log was tampered with or its chain is broken (each problem is named)' },
    ],
    examples: [
      'clawback audit verify /var/lib/clawback/audit.log --trusted-key device.pub',
      'clawback audit verify audit.log --json',
    ],
    async run(ctx) {
      const log = ctx.requireArg(0);
      const v = await auditVerify({
        log,
        trustedKeys: ctx.strings('trusted-key'),
        requireCheckpoint: ctx.flag('require-checkpoint'),
        requireComplete: ctx.flag('require-complete'),
        env: ctx.env,
      });
      ctx.result(
        { ok: v.ok, log, tampering: v.tampering, problems: v.problems, report: v.report },
        (await policyPkg()).formatAuditVerdict(log, v),
      );
      return v.ok ? 0 : 1;
    },
  },
  {
    name: 'audit export',
    summary: 'export audit entries for a period as JSON or CSV (RFC 4180)',
    args: [{ name: 'LOG', description: 'the live log file' }],
    options: {
      ...periodOptions,
      format: { type: 'string', valueName: 'json|csv', description: 'output format', default: 'json' },
      kind: {
        type: 'string',
        multiple: true,
        valueName: 'KIND',
        description: 'only entries of this kind (e.g. policy.decision)',
      },
      out: { type: 'string', valueName: 'FILE', description: 'write here (atomically) instead of stdout' },
    },
    examples: ['clawback audit export audit.log --since "30 days" --format csv --out decisions.csv'],
    async run(ctx) {
      const log = ctx.requireArg(0);
      const format = ctx.string('format') ?? 'json';
      if (format !== 'json' && format !== 'csv') {
        throw new ClawbackError(
          (await policyPkg()).PolicyErrors.AUDIT_FORMAT_INVALID,
          `unknown --format ${JSON.stringify(format)}`,
          {
            hint: 'Use --format json or --format csv.',
          },
        );
      }
      const kinds = ctx.strings('kind');
      const r = await auditExport({
        log,
        format,
        now: ctx.now(),
        ...(ctx.string('since') === undefined ? {} : { since: ctx.string('since') as string }),
        ...(ctx.string('until') === undefined ? {} : { until: ctx.string('until') as string }),
        ...(kinds.length > 0 ? { kinds } : {}),
      });
      if (!r.verdict.ok)
        ctx.progress(
          `warning: ${log} failed verification (${r.verdict.tampering.join(', ')}); run \`clawback audit verify ${log}\``,
        );
      const out = ctx.string('out');
      if (out === undefined) {
        ctx.io.stdout.write(r.content);
        return 0;
      }
      await writeFileAtomic(out, r.content);
      ctx.result(
        { out, format, entries: r.entries, sha256: sha256Hex(r.content), verified: r.verdict.ok },
        `wrote ${r.entries} entries to ${out} (${format})`,
      );
      return 0;
    },
  },
  {
    name: 'audit summary',
    summary: 'totals, by kind, allow/deny ratio, top denied actions and policy drift for a period',
    args: [{ name: 'LOG', description: 'the live log file' }],
    options: {
      ...periodOptions,
      'expected-policy-hash': {
        type: 'string',
        valueName: 'SHA256',
        description: 'flag decisions made under any other policy hash (drift)',
      },
      top: {
        type: 'string',
        valueName: 'N',
        description: 'how many top denied actions/targets (default 10)',
      },
    },
    exitCodes: [
      { code: 1, meaning: 'with --expected-policy-hash: some decisions were made under another policy' },
    ],
    examples: ['clawback audit summary audit.log --since quarter --expected-policy-hash 3f2a… --json'],
    async run(ctx) {
      const log = ctx.requireArg(0);
      const expected = ctx.string('expected-policy-hash');
      if (expected !== undefined && !/^[0-9a-f]{64}$/i.test(expected)) {
        throw new ClawbackError(
          (await policyPkg()).PolicyErrors.POLICY_REQUEST_INVALID,
          '--expected-policy-hash must be a SHA-256 (64 hex digits)',
          {
            hint: 'Take it from `clawback policy validate FILE --json` or the bundle manifest.',
          },
        );
      }
      const top = ctx.integer('top', { min: 1, max: 1000 });
      const s = await auditSummary({
        log,
        now: ctx.now(),
        ...(ctx.string('since') === undefined ? {} : { since: ctx.string('since') as string }),
        ...(ctx.string('until') === undefined ? {} : { until: ctx.string('until') as string }),
        ...(expected === undefined ? {} : { expectedPolicyHash: expected }),
        ...(top === undefined ? {} : { top }),
      });
      ctx.result(s, (await policyPkg()).formatAuditSummary(log, s));
      return expected !== undefined && s.drift.decisions > 0 ? 1 : 0;
    },
  },
];
