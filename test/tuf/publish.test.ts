import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { addRelease, publishToGithubRelease, refreshRepo } from '@clawback/sign';
import { Octokit } from '@octokit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { days, type Harness, makeHarness } from './harness.js';

/** An in-memory GitHub Releases API behind Octokit's injectable fetch (no network). */
function fakeReleases() {
  const assets = new Map<string, { id: number; name: string; size: number }>();
  let release: { id: number; upload_url: string; html_url: string } | undefined;
  let nextId = 100;
  const log: string[] = [];
  const json = (status: number, body?: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  const fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const method = (init?.method ?? 'GET').toUpperCase();
    log.push(`${method} ${url.host}${url.pathname}${url.search}`);
    if (init?.headers && JSON.stringify(init.headers).includes('secret-token') === false)
      return json(401, { message: 'Bad credentials' });
    if (method === 'GET' && url.pathname === '/repos/acme/fleet/releases/tags/tuf-v1') {
      return release
        ? json(200, { ...release, assets: [...assets.values()] })
        : json(404, { message: 'Not Found' });
    }
    if (method === 'POST' && url.pathname === '/repos/acme/fleet/releases') {
      release = {
        id: 7,
        upload_url: 'https://uploads.github.com/repos/acme/fleet/releases/7/assets{?name,label}',
        html_url: 'https://github.com/acme/fleet/releases/tag/tuf-v1',
      };
      return json(201, { ...release, assets: [] });
    }
    if (method === 'POST' && url.host === 'uploads.github.com') {
      const name = url.searchParams.get('name') as string;
      const body = init?.body as Uint8Array;
      const asset = { id: nextId++, name, size: body.byteLength };
      assets.set(name, asset);
      return json(201, asset);
    }
    const del = /^\/repos\/acme\/fleet\/releases\/assets\/(\d+)$/.exec(url.pathname);
    if (method === 'DELETE' && del) {
      for (const [k, a] of assets) if (a.id === Number(del[1])) assets.delete(k);
      return json(204);
    }
    return json(501, { message: `unexpected ${method} ${url}` });
  };
  return { fetch: fetch as typeof globalThis.fetch, assets, log };
}

describe('repo publish --github', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await makeHarness();
    const bundle = await h.artifact('com.openclaw.sensor_parser', '1.0.0');
    await addRelease({ repo: h.repo, bundle, channel: 'stable', now: h.t0, verifyBundle: h.verifier });
  });
  afterAll(async () => h.close());

  it('uploads metadata and hash-named targets, timestamp last; a rerun skips immutable files', async () => {
    const gh = fakeReleases();
    const octokit = new Octokit({ auth: 'secret-token', request: { fetch: gh.fetch } });
    const first = await publishToGithubRelease({
      repo: h.repo,
      github: 'acme/fleet',
      tag: 'tuf-v1',
      octokit,
    });
    const meta = await readdir(join(h.repo, 'metadata'));
    expect(first.uploaded.at(-1)).toBe('timestamp.json');
    expect(first.uploaded).toEqual(
      expect.arrayContaining([...meta, expect.stringMatching(/^[0-9a-f]{64}\.bundle\.clawback$/)]),
    );
    expect(first.downloadBaseUrl).toBe('https://github.com/acme/fleet/releases/download/tuf-v1');

    await refreshRepo({ repo: h.repo, now: days(1, h.t0), force: true });
    const second = await publishToGithubRelease({
      repo: h.repo,
      github: 'acme/fleet',
      tag: 'tuf-v1',
      octokit,
    });
    expect(second.replaced).toEqual(['timestamp.json']);
    expect(second.uploaded).toEqual([expect.stringMatching(/^\d+\.snapshot\.json$/)]);
    expect(second.skipped).toContain('1.root.json');
    expect(gh.assets.has('timestamp.json')).toBe(true);
  });

  it('fails with a coded error and no secret in the message when GitHub refuses', async () => {
    const gh = fakeReleases();
    const octokit = new Octokit({ auth: 'wrong-token', request: { fetch: gh.fetch } });
    const err = await publishToGithubRelease({
      repo: h.repo,
      github: 'acme/fleet',
      tag: 'tuf-v1',
      octokit,
    }).catch((e) => e);
    expect(err.code).toBe('PUBLISH_GITHUB_FAILED');
    expect(String(err.message)).not.toContain('wrong-token');
    const bad = await publishToGithubRelease({ repo: h.repo, github: 'not a repo', tag: 't', octokit }).catch(
      (e) => e,
    );
    expect(bad.code).toBe('PUBLISH_TARGET_INVALID');
  });
});
