import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createGitHubClient, githubClientOptionsFromEnv } from './github-client.js';

/** A tiny fetch that records requests and answers from a route table. */
function recorder(routes: Record<string, unknown>) {
  const seen: { method: string; path: string; auth: string | null }[] = [];
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    seen.push({ method, path: url.pathname, auth: headers.get('authorization') });
    const body = routes[`${method} ${url.pathname}`];
    const res = new Response(JSON.stringify(body ?? { message: 'Not Found' }), {
      status: body === undefined ? 404 : method === 'POST' ? 201 : 200,
      headers: { 'content-type': 'application/json' },
    });
    Object.defineProperty(res, 'url', { value: url.toString() });
    return res;
  };
  return { fetch: fetch as typeof globalThis.fetch, seen };
}

describe('createGitHubClient', () => {
  it('authenticates as a GitHub App installation: JWT for the token exchange, then the installation token', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const r = recorder({
      'POST /app/installations/77/access_tokens': {
        token: 'ghs_installation0123456789abcdef',
        expires_at: '2099-01-01T00:00:00Z',
        permissions: { contents: 'read' },
        repository_selection: 'all',
      },
      'GET /repos/acme/agents': { default_branch: 'main' },
    });
    const gh = createGitHubClient({
      app: {
        appId: 1234,
        installationId: 77,
        privateKey: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
      },
      fetch: r.fetch,
      retries: 0,
    });
    const { data } = await gh.rest.repos.get({ owner: 'acme', repo: 'agents' });
    expect(data.default_branch).toBe('main');
    expect(r.seen[0]).toMatchObject({ method: 'POST', path: '/app/installations/77/access_tokens' });
    expect(r.seen[0]?.auth).toMatch(/^bearer ey/i);
    expect(r.seen[1]).toMatchObject({
      path: '/repos/acme/agents',
      auth: 'token ghs_installation0123456789abcdef',
    });
  });

  it('uses a token and an Enterprise base URL', async () => {
    const r = recorder({ 'GET /api/v3/repos/acme/agents': { default_branch: 'trunk' } });
    const gh = createGitHubClient({
      token: 'ghp_x',
      baseUrl: 'https://ghe.example/api/v3/',
      fetch: r.fetch,
      retries: 0,
    });
    expect((await gh.rest.repos.get({ owner: 'acme', repo: 'agents' })).data.default_branch).toBe('trunk');
    expect(r.seen[0]?.auth).toBe('token ghp_x');
  });

  it('reads credentials from the environment and names what is missing', () => {
    expect(githubClientOptionsFromEnv({ GITHUB_TOKEN: 't' })).toEqual({ token: 't' });
    expect(
      githubClientOptionsFromEnv({
        CLAWBACK_GITHUB_APP_ID: '1',
        CLAWBACK_GITHUB_APP_PRIVATE_KEY: 'k',
        CLAWBACK_GITHUB_APP_INSTALLATION_ID: '2',
        GITHUB_API_URL: 'https://ghe/api/v3',
      }),
    ).toEqual({
      baseUrl: 'https://ghe/api/v3',
      app: { appId: '1', privateKey: 'k', installationId: '2' },
    });
    expect(() => githubClientOptionsFromEnv({})).toThrow(
      expect.objectContaining({ code: 'GITHUB_AUTH_MISSING' }),
    );
    expect(() => createGitHubClient({})).toThrow(expect.objectContaining({ code: 'GITHUB_AUTH_MISSING' }));
  });
});
