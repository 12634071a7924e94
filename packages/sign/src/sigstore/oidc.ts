import { ClawbackError, redact } from '@clawback/core';
import { SigstoreSignErrors as E } from './errors.js';

/** Fulcio's audience for OIDC tokens; actions/attest and sigstore-js ask GitHub for the same. */
export const SIGSTORE_OIDC_AUDIENCE = 'sigstore';

export interface IdentityTokenOptions {
  /** An OIDC ID token to use as-is (e.g. from another provider). Never logged. */
  identityToken?: string;
  /** Environment to read GitHub Actions' token request variables from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** fetch used for the GitHub Actions token request; default the global fetch. */
  fetch?: typeof fetch;
  /** Timeout of the token request in milliseconds; default 10 000. */
  timeoutMs?: number;
}

/** The claims Fulcio and provenance builders read from an ID token (not verified here: Fulcio verifies). */
export type IdentityTokenClaims = Record<string, unknown> & { iss?: string; sub?: string };

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Obtain the OIDC ID token Fulcio exchanges for a signing certificate. In order:
 * an explicit `identityToken`; GitHub Actions (ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN,
 * audience `sigstore`); SIGSTORE_ID_TOKEN (cosign's convention). Otherwise SIGSTORE_OIDC_UNAVAILABLE.
 *
 * @sigstore/sign's CIContextProvider does the same from the global process.env but reports only
 * "no tokens available"; reading an injected env lets us say exactly what is missing and test it.
 */
export async function getIdentityToken(options: IdentityTokenOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  if (options.identityToken !== undefined)
    return checkedToken(options.identityToken, 'the identityToken option');
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    return checkedToken(await requestActionsToken(requestUrl, requestToken, options), 'GitHub Actions');
  }
  if (env.SIGSTORE_ID_TOKEN) return checkedToken(env.SIGSTORE_ID_TOKEN, 'SIGSTORE_ID_TOKEN');
  throw missingTokenError(env);
}

function missingTokenError(env: NodeJS.ProcessEnv): ClawbackError {
  if (env.GITHUB_ACTIONS === 'true') {
    const missing = ['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'].filter((v) => !env[v]);
    return new ClawbackError(
      E.SIGSTORE_OIDC_UNAVAILABLE,
      `GitHub Actions did not provide an OIDC token to this job (${missing.join(' and ')} unset)`,
      {
        hint: 'add `permissions: id-token: write` to the job (or workflow) that signs',
        details: { missing },
      },
    );
  }
  return new ClawbackError(
    E.SIGSTORE_OIDC_UNAVAILABLE,
    'no OIDC identity token is available for Sigstore keyless signing',
    {
      hint: 'run in GitHub Actions with `permissions: id-token: write`, or pass an ID token (SIGSTORE_ID_TOKEN / --identity-token)',
      details: {
        missing: ['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN', 'SIGSTORE_ID_TOKEN'],
      },
    },
  );
}

async function requestActionsToken(
  requestUrl: string,
  bearer: string,
  options: IdentityTokenOptions,
): Promise<string> {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch (cause) {
    throw new ClawbackError(E.SIGSTORE_OIDC_TOKEN_FAILED, 'ACTIONS_ID_TOKEN_REQUEST_URL is not a URL', {
      cause,
    });
  }
  url.searchParams.set('audience', SIGSTORE_OIDC_AUDIENCE);
  const doFetch = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: { Accept: 'application/json', Authorization: `bearer ${bearer}` },
      signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
  } catch (cause) {
    throw new ClawbackError(
      E.SIGSTORE_OIDC_TOKEN_FAILED,
      `requesting the GitHub Actions OIDC token failed: ${redact((cause as Error).message)}`,
      { hint: 'retry the job; if it persists, check the runner can reach the Actions token service' },
    );
  }
  if (!response.ok) {
    throw new ClawbackError(
      E.SIGSTORE_OIDC_TOKEN_FAILED,
      `the GitHub Actions OIDC token request returned HTTP ${response.status}`,
      { hint: 'check the job has `permissions: id-token: write`', details: { status: response.status } },
    );
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const value = (body as { value?: unknown } | undefined)?.value;
  if (typeof value !== 'string' || value === '') {
    throw new ClawbackError(
      E.SIGSTORE_OIDC_TOKEN_INVALID,
      'the GitHub Actions OIDC token response has no token value',
    );
  }
  return value;
}

/** Decode (without verifying) the claims of a JWT. Fulcio verifies the signature; we only read. */
export function decodeIdentityTokenClaims(token: string): IdentityTokenClaims {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) {
    throw new ClawbackError(
      E.SIGSTORE_OIDC_TOKEN_INVALID,
      'the OIDC identity token is not a JWT (header.payload.signature)',
    );
  }
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    throw new ClawbackError(E.SIGSTORE_OIDC_TOKEN_INVALID, 'the OIDC identity token payload is not JSON');
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) {
    throw new ClawbackError(
      E.SIGSTORE_OIDC_TOKEN_INVALID,
      'the OIDC identity token payload is not a JSON object',
    );
  }
  return claims as IdentityTokenClaims;
}

// Fulcio signs a challenge over `email` or `sub`; checking here keeps @sigstore/sign from echoing the whole
// token in its own parse error (it interpolates the token into the message).
function checkedToken(token: string, source: string): string {
  const claims = decodeIdentityTokenClaims(token.trim());
  if (typeof claims.sub !== 'string' && typeof claims.email !== 'string') {
    throw new ClawbackError(
      E.SIGSTORE_OIDC_TOKEN_INVALID,
      `the OIDC identity token from ${source} has no subject`,
    );
  }
  if (typeof claims.email === 'string' && claims.email_verified !== true) {
    throw new ClawbackError(
      E.SIGSTORE_OIDC_TOKEN_INVALID,
      `the OIDC identity token from ${source} has an unverified e-mail`,
    );
  }
  return token.trim();
}
