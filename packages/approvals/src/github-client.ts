/**
 * The one GitHub seam (house style 6): a single Octokit composed from @octokit/core
 * with REST endpoint methods, pagination, retries and throttling. `clawback approve`,
 * `clawback evidence pack` and the TUF helper's `repo publish` all build it here.
 * Tests pass `fetch` (a fake that replays recorded exchanges); nothing else changes.
 */

import { ClawbackError, redact } from '@clawback/core';
import { createAppAuth } from '@octokit/auth-app';
import { Octokit } from '@octokit/core';
import { paginateRest } from '@octokit/plugin-paginate-rest';
import { restEndpointMethods } from '@octokit/plugin-rest-endpoint-methods';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import { ApprovalErrors } from './errors.js';

export const GITHUB_API_BASE = 'https://api.github.com';

const ComposedOctokit = Octokit.plugin(restEndpointMethods, paginateRest, retry, throttling);
export type GitHubClient = InstanceType<typeof ComposedOctokit>;

export interface GitHubAppCredentials {
  appId: string | number;
  /** PEM private key of the App. Never logged. */
  privateKey: string;
  installationId: string | number;
}

export interface GitHubClientOptions {
  /** A token (PAT, `GITHUB_TOKEN`, installation token). */
  token?: string;
  /** Or a GitHub App installation. */
  app?: GitHubAppCredentials;
  /** API base URL (GitHub Enterprise Server: `https://HOST/api/v3`). */
  baseUrl?: string;
  /** Injected fetch (tests replay recorded exchanges through it). */
  fetch?: typeof fetch;
  /** Retries on 5xx/secondary limits (default 3; tests use 0 or 1). */
  retries?: number;
  /** Called for each rate-limit wait so long work can report progress on stderr. */
  onWait?: (message: string) => void;
  userAgent?: string;
}

/**
 * Build the composed client. Exactly one of `token` / `app` is required.
 * Rate limits: wait and retry up to twice for the primary limit and once for the
 * secondary limit (GitHub's documented guidance), reporting each wait.
 */
export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  if (!options.token && !options.app) {
    throw new ClawbackError(ApprovalErrors.GITHUB_AUTH_MISSING, 'no GitHub credentials', {
      hint: 'Set GITHUB_TOKEN, or CLAWBACK_GITHUB_APP_ID + CLAWBACK_GITHUB_APP_PRIVATE_KEY + CLAWBACK_GITHUB_APP_INSTALLATION_ID.',
    });
  }
  const baseUrl = (options.baseUrl ?? GITHUB_API_BASE).replace(/\/+$/, '');
  const retries = options.retries ?? 3;
  const onWait = options.onWait ?? (() => undefined);
  return new ComposedOctokit({
    baseUrl,
    userAgent: options.userAgent ?? 'clawback-approvals',
    ...(options.app
      ? {
          authStrategy: createAppAuth,
          auth: {
            appId: options.app.appId,
            privateKey: options.app.privateKey,
            installationId: options.app.installationId,
          },
        }
      : { auth: options.token }),
    request: { ...(options.fetch ? { fetch: options.fetch } : {}), retries },
    retry: { enabled: retries > 0, retries },
    throttle: {
      onRateLimit: (
        retryAfter: number,
        opts: { method: string; url: string },
        _o: unknown,
        count: number,
      ) => {
        onWait(
          `GitHub rate limit on ${opts.method} ${opts.url}: waiting ${retryAfter}s (retry ${count + 1})`,
        );
        return count < 2;
      },
      onSecondaryRateLimit: (
        retryAfter: number,
        opts: { method: string; url: string },
        _o: unknown,
        count: number,
      ) => {
        onWait(`GitHub secondary rate limit on ${opts.method} ${opts.url}: waiting ${retryAfter}s`);
        return count < 1;
      },
    },
    log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
  });
}

/** Credentials from the environment: GITHUB_TOKEN, or the App triple. */
export function githubClientOptionsFromEnv(
  env: NodeJS.ProcessEnv,
): Pick<GitHubClientOptions, 'token' | 'app' | 'baseUrl'> {
  const baseUrl = env.GITHUB_API_URL;
  const base = baseUrl ? { baseUrl } : {};
  const appId = env.CLAWBACK_GITHUB_APP_ID;
  const key = env.CLAWBACK_GITHUB_APP_PRIVATE_KEY;
  const inst = env.CLAWBACK_GITHUB_APP_INSTALLATION_ID;
  if (appId && key && inst) return { ...base, app: { appId, privateKey: key, installationId: inst } };
  const token = env.GITHUB_TOKEN ?? env.GH_TOKEN;
  if (token) return { ...base, token };
  throw new ClawbackError(ApprovalErrors.GITHUB_AUTH_MISSING, 'no GitHub credentials in the environment', {
    hint: 'Set GITHUB_TOKEN (Contents, Pull requests, Checks, Actions: read), or CLAWBACK_GITHUB_APP_ID, CLAWBACK_GITHUB_APP_PRIVATE_KEY and CLAWBACK_GITHUB_APP_INSTALLATION_ID. Branch protection and rule suites also need Administration: read. See docs/change-control.md.',
  });
}

/** HTTP status of an Octokit RequestError, or undefined for other errors. */
export function httpStatusOf(err: unknown): number | undefined {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

/** The `message` GitHub sent with an error response, if any. */
export function githubMessageOf(err: unknown): string {
  const data = (err as { response?: { data?: unknown } } | null)?.response?.data;
  const m = (data as { message?: unknown } | undefined)?.message;
  return typeof m === 'string' ? m : ((err as Error | null)?.message ?? String(err));
}

/** Wrap an unexpected GitHub failure: what failed, never the token. */
export function githubError(what: string, err: unknown): ClawbackError {
  const status = httpStatusOf(err);
  const message = redact(githubMessageOf(err));
  const code = status === 404 ? ApprovalErrors.GITHUB_NOT_FOUND : ApprovalErrors.GITHUB_REQUEST_FAILED;
  const hint =
    status === 401
      ? 'The token is invalid or expired.'
      : status === 403
        ? 'The token lacks a permission this call needs; see docs/change-control.md#token-permissions.'
        : status === 404
          ? 'Check --repo and --commit; private repositories answer 404 to tokens without access.'
          : 'Retry later; GitHub or the network failed.';
  return new ClawbackError(code, `GitHub: ${what} failed${status ? ` (HTTP ${status})` : ''}: ${message}`, {
    cause: err,
    hint,
    ...(status ? { details: { status } } : {}),
  });
}
