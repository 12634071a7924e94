/**
 * The population of changes for an evidence pack, built from the deploy side
 * (SOC 2 CC8.1 sampling needs the full population, not the PRs someone chose):
 * every bundle release the TUF repository signed, and every change to the
 * access policies on the default branch. Releases are read straight from the
 * repository's targets metadata (docs/tuf-repository.md, "Target layout contract").
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ClawbackError,
  type DsseEnvelope,
  INTOTO_PAYLOAD_TYPE,
  isSha256Hex,
  parseDsseEnvelope,
  parseJson,
  readFileChecked,
} from '@clawback/core';
import { ApprovalErrors } from './errors.js';
import { type GitHubClient, githubError } from './github-client.js';
import type { RepoRef } from './github-reads.js';

export interface ReleaseChange {
  kind: 'release';
  id: string;
  name: string;
  version: string;
  channel: string | null;
  target: string;
  bundleSha256: string;
  publishedAt: string | null;
  /** Set when the release went out below the channel's newest version (a rollback). */
  downgradeReason: string | null;
  /** The source commit named by the release's SLSA provenance, when published with one. */
  provenanceCommit: string | null;
  /** The targets metadata file this release was first seen in. */
  metadataFile: string;
}

export interface PolicyChange {
  kind: 'policy';
  id: string;
  /** The commit that landed on the default branch (a PR's merge commit, or a direct push). */
  commit: string;
  paths: string;
  committedAt: string | null;
}

export type Change = ReleaseChange | PolicyChange;

interface TargetInfo {
  length?: number;
  hashes?: Record<string, string>;
  custom?: { clawback?: Record<string, unknown> };
}

/** Every `N.targets.json` of a TUF repository, oldest first. */
export async function listTargetsMetadata(repoDir: string): Promise<{ file: string; bytes: Buffer }[]> {
  const dir = join(repoDir, 'metadata');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (cause) {
    throw new ClawbackError(
      ApprovalErrors.EVIDENCE_INPUT_INVALID,
      `${dir} is not a TUF repository metadata directory`,
      {
        cause,
        hint: 'Pass --tuf-repo the directory `clawback repo init` created (it holds metadata/ and targets/).',
      },
    );
  }
  const files = names
    .map((n) => ({ n, v: /^(\d+)\.targets\.json$/.exec(n)?.[1] }))
    .filter((x): x is { n: string; v: string } => x.v !== undefined)
    .sort((a, b) => Number(a.v) - Number(b.v));
  return Promise.all(
    files.map(async ({ n }) => ({
      file: n,
      bytes: await readFileChecked(join(dir, n), 'TUF targets metadata'),
    })),
  );
}

/** Bundle releases published in [since, until], from every targets version (a later removal does not hide one). */
export async function releasesFromTuf(
  repoDir: string,
  since: Date,
  until: Date,
): Promise<{ releases: ReleaseChange[]; metadata: { file: string; bytes: Buffer }[] }> {
  const metadata = await listTargetsMetadata(repoDir);
  const byPath = new Map<string, ReleaseChange>();
  for (const { file, bytes } of metadata) {
    const md = parseJson(bytes.toString('utf8'), file) as {
      signed?: { targets?: Record<string, TargetInfo> };
    };
    for (const [path, info] of Object.entries(md.signed?.targets ?? {})) {
      const c = info.custom?.clawback;
      if (c?.kind !== 'bundle' || byPath.has(path)) continue;
      const sha = info.hashes?.sha256;
      if (!isSha256Hex(sha)) continue;
      const publishedAt = typeof c.publishedAt === 'string' ? c.publishedAt : null;
      const when = publishedAt ? Date.parse(publishedAt) : Number.NaN;
      // A release with no publication time cannot be placed in a period, so it is always listed.
      if (!Number.isNaN(when) && (when < since.getTime() || when > until.getTime())) continue;
      const name = String(c.name ?? path.split('/')[0]);
      const version = String(c.version ?? path.split('/')[1]);
      const downgrade = c.downgrade as { reason?: unknown } | undefined;
      byPath.set(path, {
        kind: 'release',
        id: `release:${name}@${version}`,
        name,
        version,
        channel: typeof c.channel === 'string' ? c.channel : null,
        target: path,
        bundleSha256: sha,
        publishedAt,
        downgradeReason: downgrade ? String(downgrade.reason ?? 'downgrade') : null,
        provenanceCommit: await provenanceCommit(repoDir, c),
        metadataFile: file,
      });
    }
  }
  return { releases: [...byPath.values()], metadata };
}

/** The git commit in a release's SLSA provenance (`resolvedDependencies[].digest.gitCommit`). */
async function provenanceCommit(repoDir: string, c: Record<string, unknown>): Promise<string | null> {
  const att = (c.attestations as { provenance?: { path?: string; sha256?: string } } | undefined)?.provenance;
  if (!att?.path || !att.sha256) return null;
  const slash = att.path.lastIndexOf('/');
  const hashed = `${att.path.slice(0, slash + 1)}${att.sha256}.${att.path.slice(slash + 1)}`;
  try {
    const env = parseDsseEnvelope(
      JSON.parse((await readFileChecked(join(repoDir, 'targets', hashed))).toString('utf8')),
    );
    if (env.payloadType !== INTOTO_PAYLOAD_TYPE) return null;
    const st = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as {
      predicate?: { buildDefinition?: { resolvedDependencies?: { digest?: Record<string, string> }[] } };
    };
    for (const d of st.predicate?.buildDefinition?.resolvedDependencies ?? []) {
      if (d.digest?.gitCommit) return d.digest.gitCommit;
    }
  } catch {
    // An unreadable provenance leaves the release to be matched by its change record.
  }
  return null;
}

/**
 * Commits on the default branch in [since, until] that changed the given paths,
 * each mapped to the change that landed it: the merged PR's merge commit (so a
 * PR's own commits and its merge count once), or the commit itself.
 */
export async function policyChanges(
  gh: GitHubClient,
  r: RepoRef,
  branch: string,
  paths: readonly string[],
  since: Date,
  until: Date,
): Promise<PolicyChange[]> {
  const out = new Map<string, PolicyChange>();
  for (const path of paths) {
    let commits: { sha: string; commit: { committer: { date?: string } | null } }[];
    try {
      commits = await gh.paginate(gh.rest.repos.listCommits, {
        ...r,
        sha: branch,
        path,
        since: since.toISOString(),
        until: until.toISOString(),
        per_page: 100,
      });
    } catch (err) {
      throw githubError(`listing commits that changed ${path}`, err);
    }
    for (const c of commits) {
      let landed = c.sha;
      try {
        const prs = await gh.paginate(gh.rest.repos.listPullRequestsAssociatedWithCommit, {
          ...r,
          commit_sha: c.sha,
          per_page: 100,
        });
        const merged = prs.find((p) => p.merged_at !== null && p.base.ref === branch && p.merge_commit_sha);
        if (merged?.merge_commit_sha) landed = merged.merge_commit_sha;
      } catch (err) {
        throw githubError(`mapping ${c.sha} to its pull request`, err);
      }
      if (!out.has(landed)) {
        out.set(landed, {
          kind: 'policy',
          id: `policy:${landed.slice(0, 12)}`,
          commit: landed,
          paths: path,
          committedAt: c.commit.committer?.date ?? null,
        });
      }
    }
  }
  return [...out.values()];
}

export interface StoredRecord {
  file: string;
  envelope: DsseEnvelope;
  bytes: Buffer;
}

/** Read every `*.json` DSSE envelope in a records directory (written by `approve check --out`). */
export async function readRecordsDir(dir: string): Promise<StoredRecord[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  } catch (cause) {
    throw new ClawbackError(ApprovalErrors.EVIDENCE_INPUT_INVALID, `cannot read records directory ${dir}`, {
      cause,
      hint: 'Pass --records the directory where `approve check --out` wrote change records.',
    });
  }
  const out: StoredRecord[] = [];
  for (const n of names) {
    const bytes = await readFileChecked(join(dir, n), 'change record');
    out.push({
      file: n,
      bytes,
      envelope: parseDsseEnvelope(parseJson(bytes.toString('utf8'), join(dir, n)), join(dir, n)),
    });
  }
  return out;
}
