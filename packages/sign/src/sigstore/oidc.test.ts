import { type ClawbackError, exitCodeFor } from '@clawback/core';
import { describe, expect, it } from 'vitest';
import { signStatementKeyless } from './keyless.js';
import { decodeIdentityTokenClaims, getIdentityToken } from './oidc.js';

const jwt = (claims: Record<string, unknown>) =>
  ['{"alg":"RS256"}', JSON.stringify(claims), 'sig']
    .map((p) => Buffer.from(p).toString('base64url'))
    .join('.');
const TOKEN = jwt({
  iss: 'https://token.actions.githubusercontent.com',
  sub: 'repo:acme/agents:ref:refs/heads/main',
});
const REQUEST_TOKEN = 'request-token-that-must-stay-secret';
const actionsEnv = {
  GITHUB_ACTIONS: 'true',
  ACTIONS_ID_TOKEN_REQUEST_URL: 'http://127.0.0.1:9/token?api-version=2.0',
  ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
};

interface Call {
  url: string;
  headers: Record<string, string>;
}

function fakeFetch(respond: () => Response, calls: Call[] = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(input), headers: init?.headers as Record<string, string> });
    return respond();
  }) as typeof fetch;
}

const noNetwork = fakeFetch(() => {
  throw new Error('the network must not be used');
});

async function rejection(p: Promise<unknown>): Promise<ClawbackError> {
  try {
    await p;
  } catch (err) {
    return err as ClawbackError;
  }
  throw new Error('expected a rejection');
}

describe('getIdentityToken', () => {
  it('uses an explicit token without any request', async () => {
    expect(await getIdentityToken({ identityToken: TOKEN, env: actionsEnv, fetch: noNetwork })).toBe(TOKEN);
  });

  it('asks GitHub Actions for a token with audience sigstore', async () => {
    const calls: Call[] = [];
    const fetch = fakeFetch(() => Response.json({ value: TOKEN }), calls);
    expect(await getIdentityToken({ env: actionsEnv, fetch })).toBe(TOKEN);
    expect(calls).toHaveLength(1);
    const url = new URL(calls[0]?.url ?? '');
    expect(url.searchParams.get('audience')).toBe('sigstore');
    expect(url.searchParams.get('api-version')).toBe('2.0');
    expect(calls[0]?.headers.Authorization).toBe(`bearer ${REQUEST_TOKEN}`);
  });

  it('falls back to SIGSTORE_ID_TOKEN outside Actions', async () => {
    expect(await getIdentityToken({ env: { SIGSTORE_ID_TOKEN: TOKEN }, fetch: noNetwork })).toBe(TOKEN);
  });

  it('names the missing permission when the job has no token request variables', async () => {
    const err = await rejection(
      getIdentityToken({
        env: { GITHUB_ACTIONS: 'true', ACTIONS_ID_TOKEN_REQUEST_URL: 'http://x' },
        fetch: noNetwork,
      }),
    );
    expect(err.code).toBe('SIGSTORE_OIDC_UNAVAILABLE');
    expect(err.hint).toContain('permissions: id-token: write');
    expect(err.details?.missing).toEqual(['ACTIONS_ID_TOKEN_REQUEST_TOKEN']);
    expect(exitCodeFor(err)).toBe(4);
  });

  it('says what to set outside Actions', async () => {
    const err = await rejection(getIdentityToken({ env: {}, fetch: noNetwork }));
    expect(err.code).toBe('SIGSTORE_OIDC_UNAVAILABLE');
    expect(err.details?.missing).toEqual([
      'ACTIONS_ID_TOKEN_REQUEST_URL',
      'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
      'SIGSTORE_ID_TOKEN',
    ]);
  });

  it('reports a refused or broken token request without the request token', async () => {
    const refused = await rejection(
      getIdentityToken({ env: actionsEnv, fetch: fakeFetch(() => new Response('{}', { status: 403 })) }),
    );
    expect(refused.code).toBe('SIGSTORE_OIDC_TOKEN_FAILED');
    expect(refused.details?.status).toBe(403);
    const down = await rejection(
      getIdentityToken({
        env: actionsEnv,
        fetch: fakeFetch(() => {
          throw new Error(`connect ECONNREFUSED (Authorization: bearer ${REQUEST_TOKEN})`);
        }),
      }),
    );
    expect(down.code).toBe('SIGSTORE_OIDC_TOKEN_FAILED');
    expect(JSON.stringify(down.toJSON())).not.toContain(REQUEST_TOKEN);
    const empty = await rejection(
      getIdentityToken({ env: actionsEnv, fetch: fakeFetch(() => Response.json({})) }),
    );
    expect(empty.code).toBe('SIGSTORE_OIDC_TOKEN_INVALID');
  });

  it('refuses tokens Fulcio could not use, without echoing them', async () => {
    for (const bad of [
      'not-a-jwt',
      jwt({ iss: 'x' }),
      jwt({ iss: 'x', email: 'a@b.c', email_verified: false }),
    ]) {
      const err = await rejection(getIdentityToken({ identityToken: bad }));
      expect(err.code).toBe('SIGSTORE_OIDC_TOKEN_INVALID');
      expect(err.message).not.toContain(bad);
    }
  });

  it('decodes claims without verifying them', () => {
    expect(decodeIdentityTokenClaims(TOKEN).sub).toBe('repo:acme/agents:ref:refs/heads/main');
  });
});

describe('signStatementKeyless options', () => {
  const statement = new TextEncoder().encode(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'a', digest: { sha256: '0'.repeat(64) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {},
    }),
  );

  it('needs a transparency log or a timestamp authority', async () => {
    const err = await rejection(signStatementKeyless(statement, { tlogUpload: false, identityToken: TOKEN }));
    expect(err.code).toBe('SIGSTORE_SIGN_OPTIONS_INVALID');
    expect(exitCodeFor(err)).toBe(2);
  });

  it('asks for the token before contacting Sigstore', async () => {
    const err = await rejection(
      signStatementKeyless(statement, { env: { GITHUB_ACTIONS: 'true' }, fetch: noNetwork }),
    );
    expect(err.code).toBe('SIGSTORE_OIDC_UNAVAILABLE');
  });
});
