// Real responses recorded from api.github.com (@octokit/fixtures) replayed through the composed
// client: pagination over Link headers, error mapping, branch-protection and status parsing.
import {
  ApprovalErrors,
  createGitHubClient,
  githubError,
  listStatuses,
  protectionFromResponse,
  readClassicProtection,
} from '@clawback/approvals';
import { isClawbackError } from '@clawback/core';
import { fakeGitHubFetch, octokitFixtureExchanges } from '@clawback/testing';
import { describe, expect, it } from 'vitest';

const org = 'octokit-fixture-org';

function client(name: string) {
  const gh = fakeGitHubFetch(octokitFixtureExchanges(name));
  return { gh, octokit: createGitHubClient({ token: 'ghp_fixture', fetch: gh.fetch, retries: 0 }) };
}

describe('@octokit/fixtures replay', () => {
  it('paginate-issues: follows rel="next" through all 5 recorded pages', async () => {
    const { gh, octokit } = client('paginate-issues');
    const issues = await octokit.paginate(octokit.rest.issues.listForRepo, {
      owner: org,
      repo: 'paginate-issues',
      per_page: 3,
    });
    expect(issues).toHaveLength(13);
    expect(new Set(issues.map((i) => i.number)).size).toBe(13);
    expect(gh.requests).toHaveLength(5);
    expect(gh.unmatched).toEqual([]);
  });

  it("errors: a 422 is not retried and maps to a named error with GitHub's message", async () => {
    const { gh, octokit } = client('errors');
    let caught: unknown;
    try {
      await octokit.rest.issues.createLabel({ owner: org, repo: 'errors', name: 'foo', color: 'invalid' });
    } catch (err) {
      caught = githubError('creating a label', err);
    }
    expect(isClawbackError(caught, ApprovalErrors.GITHUB_REQUEST_FAILED)).toBe(true);
    expect((caught as Error).message).toContain('Validation Failed');
    expect((caught as { details?: { status?: number } }).details?.status).toBe(422);
    expect(gh.requests).toHaveLength(1);
  });

  it('branch-protection: "Branch not protected" is read as not protected; a real protection body parses', async () => {
    const { octokit } = client('branch-protection');
    const r = { owner: org, repo: 'branch-protection' };
    expect(await readClassicProtection(octokit, r, 'main')).toEqual({ status: 'not-protected' });
    // Replay the two recorded PUTs and parse their bodies (the same shape GET returns).
    const off = await octokit.rest.repos.updateBranchProtection({
      ...r,
      branch: 'main',
      required_status_checks: null,
      required_pull_request_reviews: null,
      restrictions: null,
      enforce_admins: null,
    });
    expect(protectionFromResponse(off.data)).toMatchObject({
      status: 'protected',
      requiredApprovals: 0,
      requiredChecks: [],
    });
    const { data } = await octokit.rest.repos.updateBranchProtection({
      ...r,
      branch: 'main',
      required_status_checks: { strict: true, contexts: ['foo/bar'] },
      required_pull_request_reviews: {
        dismissal_restrictions: { users: ['octokit-fixture-user-a'], teams: [] },
        dismiss_stale_reviews: true,
        require_code_owner_reviews: false,
      },
      restrictions: { users: ['octokit-fixture-user-a'], teams: ['a-team'] },
      enforce_admins: true,
    });
    const parsed = protectionFromResponse(data);
    expect(parsed).toMatchObject({
      status: 'protected',
      requiredChecks: ['foo/bar'],
      enforceAdmins: true,
      dismissStaleReviews: true,
    });
  });

  it('create-status: commit statuses map to checks, newest per context', async () => {
    const { gh, octokit } = client('create-status');
    const sha = '0000000000000000000000000000000000000001';
    const checks = await listStatuses(octokit, { owner: org, repo: 'create-status' }, sha);
    expect(checks.map((c) => [c.name, c.conclusion, c.kind])).toEqual([
      ['example/2', 'success', 'status'],
      ['example/1', 'failure', 'status'],
    ]);
    expect(gh.unmatched).toEqual([]);
  });
});
