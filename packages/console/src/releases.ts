/**
 * Releases: registered from the TUF repository's signed targets metadata plus the release's
 * signed change record (docs/tuf-repository.md "Target layout contract").
 */
import { ClawbackError, sha256Hex } from '@clawback/core';
import { appendAudit, lockAuditChain } from './audit.js';
import type { ChangeRecordCheck, ReleaseRef } from './change-records.js';
import type { ConsoleContext } from './context.js';
import { ConsoleErrors } from './errors.js';
import { asSigned, pinnedRoot, verifyRoleSignatures } from './tuf-trust.js';
import { Fields } from './validate.js';

export interface ReleaseRow {
  id: string;
  agent: string;
  version: string;
  target_path: string;
  digest: string;
  channel: string;
  hardware_ids: string[];
  min_updater_version: string | null;
  change_summary: Record<string, unknown> | null;
  change_problem: string | null;
  registered_at: Date;
}

function invalid(message: string): ClawbackError {
  return new ClawbackError(ConsoleErrors.RELEASE_INVALID, message, {
    hint: 'Register a bundle target published by `clawback repo publish` (docs/tuf-repository.md).',
  });
}

/** Read one bundle target out of verified targets metadata. */
function bundleTarget(
  signed: Record<string, unknown>,
  targetPath: string,
): ReleaseRef & {
  length: number;
  channel: string;
  hardwareIds: string[];
  minUpdaterVersion: string | null;
  custom: Record<string, unknown>;
} {
  const targets = signed.targets as Record<
    string,
    { length?: unknown; hashes?: { sha256?: unknown }; custom?: unknown }
  >;
  const t = targets?.[targetPath];
  if (!t) throw invalid(`targets metadata has no target ${targetPath}`);
  const c = (t.custom as { clawback?: Record<string, unknown> } | undefined)?.clawback;
  const f = new Fields(c, `targets[${targetPath}].custom.clawback`);
  f.str('kind', { oneOf: ['bundle'] });
  const agent = f.str('name');
  const version = f.str('version');
  const channel = f.str('channel', { optional: true }) ?? 'stable';
  const hardwareIds = f.strArray('hardwareIds', { optional: true });
  const minUpdaterVersion = f.str('minUpdaterVersion', { optional: true }) ?? null;
  const digest = t.hashes?.sha256;
  if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest))
    f.problems.push(`targets[${targetPath}].hashes.sha256: missing`);
  if (typeof t.length !== 'number') f.problems.push(`targets[${targetPath}].length: missing`);
  f.done('bundle target');
  return {
    agent,
    version,
    targetPath,
    digest: digest as string,
    length: t.length as number,
    channel,
    hardwareIds,
    minUpdaterVersion,
    custom: c as Record<string, unknown>,
  };
}

export async function registerRelease(
  ctx: ConsoleContext,
  body: unknown,
  actor: string,
): Promise<{ id: string; changeRecord: ChangeRecordCheck }> {
  const f = new Fields(body);
  const targetPath = f.str('targetPath', { max: 512 });
  const targetsRaw = f.raw('targets');
  f.done('release registration');
  const root = await pinnedRoot(ctx);
  if (!root) {
    throw new ClawbackError(
      ConsoleErrors.TUF_ROOT_MISSING,
      'no TUF root is pinned, so no targets can be trusted',
      {
        hint: 'An admin pins the repository root first: `clawback-console tuf pin root.json` or PUT /api/v1/tuf/root.',
      },
    );
  }
  const targets = asSigned(targetsRaw, 'targets.json');
  if (targets.signed._type !== 'targets') throw invalid('targets: metadata is not of type targets');
  verifyRoleSignatures(targets, root, 'targets', 'targets.json');
  const now = ctx.now();
  // TUF 5.6.x: expired targets metadata is not trusted.
  if (!(Date.parse(String(targets.signed.expires)) > now.getTime())) {
    throw new ClawbackError(
      ConsoleErrors.RELEASE_TUF_UNTRUSTED,
      `targets.json expired at ${String(targets.signed.expires)}`,
      {
        hint: 'Re-sign the targets metadata (`clawback repo publish`) and register again.',
      },
    );
  }
  const t = bundleTarget(targets.signed, targetPath);
  const id = `rel_${sha256Hex(`${t.targetPath}\n${t.digest}`).slice(0, 16)}`;
  const record = f.raw('changeRecord');
  const check: ChangeRecordCheck =
    record === undefined || record === null
      ? { ok: false, problem: 'no change record was supplied' }
      : await ctx.verifyChangeRecord(record, t, now);
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const dup = await tx.query('SELECT 1 FROM releases WHERE id = $1 OR target_path = $2', [
      id,
      t.targetPath,
    ]);
    if (dup.length > 0) {
      throw new ClawbackError(ConsoleErrors.RELEASE_EXISTS, `release ${t.targetPath} is already registered`, {
        hint: 'Attach a change record with POST /api/v1/releases/<id>/change-record.',
      });
    }
    await tx.query(
      `INSERT INTO releases (id, agent, version, target_path, digest, length, channel, hardware_ids, min_updater_version,
                             custom, targets_version, change_record, change_summary, change_problem, registered_at, registered_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10::jsonb, $11, $12::jsonb, $13::jsonb, $14, $15, $16)`,
      [
        id,
        t.agent,
        t.version,
        t.targetPath,
        t.digest,
        t.length,
        t.channel,
        JSON.stringify(t.hardwareIds),
        t.minUpdaterVersion,
        JSON.stringify(t.custom),
        Number(targets.signed.version) || 0,
        record === undefined || record === null ? null : JSON.stringify(record),
        check.ok ? JSON.stringify(check.summary) : null,
        check.ok ? null : check.problem,
        now,
        actor,
      ],
    );
    await appendAudit(
      tx,
      now,
      'release.registered',
      {
        releaseId: id,
        agent: t.agent,
        version: t.version,
        targetPath,
        digest: t.digest,
        changeRecord: check,
      },
      actor,
    );
  });
  return { id, changeRecord: check };
}

export async function attachChangeRecord(
  ctx: ConsoleContext,
  releaseId: string,
  body: unknown,
  actor: string,
): Promise<ChangeRecordCheck> {
  const rel = await getRelease(ctx, releaseId);
  const f = new Fields(body);
  const record = f.raw('changeRecord');
  if (record === undefined || record === null) f.problems.push('changeRecord: is required');
  f.done('change record');
  const now = ctx.now();
  const check = await ctx.verifyChangeRecord(
    record,
    { agent: rel.agent, version: rel.version, targetPath: rel.target_path, digest: rel.digest },
    now,
  );
  if (!check.ok && check.mismatch) {
    throw new ClawbackError(
      ConsoleErrors.RELEASE_CHANGE_RECORD_MISMATCH,
      `change record refused: ${check.problem}`,
      {
        hint: `Attach the record \`clawback approve\` wrote for ${rel.target_path} (sha256 ${rel.digest}); nothing was stored.`,
      },
    );
  }
  if (!check.ok) {
    throw new ClawbackError(
      ConsoleErrors.RELEASE_CHANGE_RECORD_INVALID,
      `change record refused: ${check.problem}`,
      {
        hint: 'Produce the record with `clawback approve` for this exact release; nothing was stored.',
      },
    );
  }
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    await tx.query(
      'UPDATE releases SET change_record = $2::jsonb, change_summary = $3::jsonb, change_problem = NULL WHERE id = $1',
      [releaseId, JSON.stringify(record), JSON.stringify(check.summary)],
    );
    await appendAudit(tx, now, 'release.change-record', { releaseId, changeRecord: check.summary }, actor);
  });
  return check;
}

export async function getRelease(ctx: ConsoleContext, id: string): Promise<ReleaseRow> {
  const row = (await ctx.db.query<ReleaseRow>('SELECT * FROM releases WHERE id = $1', [id]))[0];
  if (!row) {
    throw new ClawbackError(ConsoleErrors.RELEASE_UNKNOWN, `no release ${id}`, {
      hint: 'List releases with GET /api/v1/releases.',
    });
  }
  return row;
}

export async function listReleases(ctx: ConsoleContext): Promise<ReleaseRow[]> {
  return ctx.db.query<ReleaseRow>(
    'SELECT id, agent, version, target_path, digest, channel, hardware_ids, min_updater_version, change_summary, change_problem, registered_at FROM releases ORDER BY registered_at DESC',
  );
}
