/**
 * `clawback repo publish --github OWNER/REPO --tag T`: upload the served part of a TUF
 * repository (metadata/ and targets/) as assets of a GitHub Release. Release assets are
 * flat, so each target is uploaded under its consistent-snapshot name `<sha256>.<basename>`
 * (unique by content); devices use the client's `flatTargets` option. Versioned and
 * hash-named files are immutable and skipped when already present; `root.json` and
 * `timestamp.json` are replaced, `timestamp.json` last, so a reader sees the previous
 * complete set until the new timestamp appears.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { ClawbackError, defineErrorCodes, redact } from '@clawback/core';
import { Octokit } from '@octokit/core';

export const PublishErrors = defineErrorCodes({
  PUBLISH_TARGET_INVALID: 'usage',
  PUBLISH_GITHUB_FAILED: 'environment',
  PUBLISH_ASSET_CONFLICT: 'state',
  SERVE_NOT_A_REPOSITORY: 'input',
  SERVE_LISTEN_FAILED: 'environment',
});

export interface PublishGithubOptions {
  /** The repository directory (`clawback repo init --out`). */
  repo: string;
  /** `OWNER/REPO` on GitHub. */
  github: string;
  tag: string;
  /** A composed Octokit (tests inject `request.fetch`). */
  octokit: Octokit;
  onProgress?: (message: string) => void;
}

export interface PublishGithubResult {
  releaseId: number;
  htmlUrl?: string;
  uploaded: string[];
  replaced: string[];
  skipped: string[];
  /** Base URLs for devices: metadata and targets are the same flat release download URL. */
  downloadBaseUrl: string;
}

interface Asset {
  id: number;
  name: string;
  size: number;
}

interface ReleaseInfo {
  id: number;
  upload_url: string;
  html_url?: string;
  assets?: Asset[];
}

const MUTABLE = new Set(['root.json', 'timestamp.json']);

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else if (e.isFile() && !e.name.startsWith('.')) out.push(p);
  }
  return out.sort();
}

function parseRepo(github: string): { owner: string; repo: string } {
  const m = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)$/.exec(github);
  if (!m?.[1] || !m[2]) {
    throw new ClawbackError(
      PublishErrors.PUBLISH_TARGET_INVALID,
      `--github ${JSON.stringify(github)} is not OWNER/REPO`,
      {
        hint: 'Example: --github acme/fleet-updates',
      },
    );
  }
  return { owner: m[1], repo: m[2] };
}

function githubError(what: string, cause: unknown): ClawbackError {
  const status = (cause as { status?: number }).status;
  return new ClawbackError(
    PublishErrors.PUBLISH_GITHUB_FAILED,
    `GitHub ${what} failed${status ? ` (HTTP ${status})` : ''}: ${redact((cause as Error).message)}`,
    {
      cause,
      hint:
        status === 401 || status === 403
          ? 'Check GITHUB_TOKEN: it needs contents:write on the repository.'
          : 'Check the repository name and network; rerunning is safe (uploads already done are skipped).',
    },
  );
}

async function ensureRelease(
  octokit: Octokit,
  owner: string,
  repo: string,
  tag: string,
): Promise<ReleaseInfo> {
  try {
    const r = await octokit.request('GET /repos/{owner}/{repo}/releases/tags/{tag}', { owner, repo, tag });
    return r.data as ReleaseInfo;
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw githubError(`reading release ${tag}`, err);
  }
  try {
    const r = await octokit.request('POST /repos/{owner}/{repo}/releases', {
      owner,
      repo,
      tag_name: tag,
      name: `TUF repository ${tag}`,
      body: 'Clawback TUF repository: metadata and hash-named targets (see docs/tuf-repository.md).',
    });
    return r.data as ReleaseInfo;
  } catch (err) {
    throw githubError(`creating release ${tag}`, err);
  }
}

export async function publishToGithubRelease(options: PublishGithubOptions): Promise<PublishGithubResult> {
  const { owner, repo } = parseRepo(options.github);
  const metaFiles = await walk(join(options.repo, 'metadata'));
  const targetFiles = await walk(join(options.repo, 'targets')).catch(() => [] as string[]);
  // Flat names: metadata file names are already flat; targets use their hash-prefixed basename.
  const byName = new Map<string, string>();
  for (const file of [...targetFiles, ...metaFiles]) {
    const name = file.split(/[\\/]/).at(-1) as string;
    const prior = byName.get(name);
    if (prior) {
      throw new ClawbackError(
        PublishErrors.PUBLISH_ASSET_CONFLICT,
        `${relative(options.repo, file)} and ${relative(options.repo, prior)} share the asset name ${name}`,
        {
          hint: 'Two targets with identical content and file name under different paths cannot share one release; publish to a directory host instead.',
        },
      );
    }
    byName.set(name, file);
  }
  const release = await ensureRelease(options.octokit, owner, repo, options.tag);
  const existing = new Map((release.assets ?? []).map((a) => [a.name, a]));
  // Targets first, then versioned metadata, then root.json, timestamp.json last.
  const rank = (n: string) =>
    n === 'timestamp.json' ? 3 : n === 'root.json' ? 2 : metaFiles.includes(byName.get(n) as string) ? 1 : 0;
  const names = [...byName.keys()].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const result: PublishGithubResult = {
    releaseId: release.id,
    ...(release.html_url ? { htmlUrl: release.html_url } : {}),
    uploaded: [],
    replaced: [],
    skipped: [],
    downloadBaseUrl: `https://github.com/${owner}/${repo}/releases/download/${encodeURIComponent(options.tag)}`,
  };
  for (const name of names) {
    const data = await readFile(byName.get(name) as string);
    const old = existing.get(name);
    if (old && !MUTABLE.has(name)) {
      if (old.size !== data.length) {
        throw new ClawbackError(
          PublishErrors.PUBLISH_ASSET_CONFLICT,
          `asset ${name} already exists with different content`,
          {
            hint: 'Immutable files never change; this release was published from a different repository. Use a new tag.',
          },
        );
      }
      result.skipped.push(name);
      continue;
    }
    if (old && name === 'root.json' && newestRootAlreadyPublished(names, result.skipped)) {
      // root.json is a copy of the newest N.root.json, which is already there unchanged.
      result.skipped.push(name);
      continue;
    }
    if (old) {
      try {
        await options.octokit.request('DELETE /repos/{owner}/{repo}/releases/assets/{asset_id}', {
          owner,
          repo,
          asset_id: old.id,
        });
      } catch (err) {
        throw githubError(`replacing ${name}`, err);
      }
    }
    options.onProgress?.(`uploading ${name} (${data.length} bytes)`);
    try {
      await options.octokit.request({
        method: 'POST',
        url: release.upload_url,
        name,
        data,
        headers: {
          'content-type': name.endsWith('.json') ? 'application/json' : 'application/octet-stream',
          'content-length': data.length,
        },
      });
    } catch (err) {
      throw githubError(`uploading ${name}`, err);
    }
    (old ? result.replaced : result.uploaded).push(name);
  }
  return result;
}

function newestRootAlreadyPublished(names: string[], skipped: string[]): boolean {
  const versions = names
    .map((n) => /^(\d+)\.root\.json$/.exec(n)?.[1])
    .filter((v): v is string => v !== undefined);
  const newest = Math.max(...versions.map(Number));
  return Number.isFinite(newest) && skipped.includes(`${newest}.root.json`);
}

/** The composed client the CLI uses: @octokit/core with a token (and optional Enterprise base URL). */
export function createPublishOctokit(options: { token: string; baseUrl?: string }): Octokit {
  return new Octokit({
    auth: options.token,
    userAgent: 'clawback-repo-publish',
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
  });
}
