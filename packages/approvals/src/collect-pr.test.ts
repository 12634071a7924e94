import { describe, expect, it } from 'vitest';
import { commitRelation, fieldFromBody, inferMergeMethod } from './collect-pr.js';
import { type CommitFacts, loginFromNoreply, type PullRequestFacts, parseCoAuthors } from './evidence.js';

function commit(sha: string, over: Partial<CommitFacts> = {}): CommitFacts {
  return {
    sha,
    parents: ['p'],
    authorLogin: 'alice',
    authorName: 'Alice',
    authorEmail: 'alice@example.com',
    authorDate: '2026-03-02T11:00:00Z',
    committerLogin: 'alice',
    committerName: 'Alice',
    committerEmail: 'alice@example.com',
    committerDate: '2026-03-02T11:00:00Z',
    coAuthors: [],
    subject: 'Bump parser',
    ...over,
  };
}

describe('merge method inference', () => {
  const prCommits = [commit('c1', { authorDate: '2026-03-02T10:00:00Z', subject: 'first' }), commit('c2')];
  it('merge commit: two parents including the head', () => {
    expect(inferMergeMethod(commit('m', { parents: ['base', 'c2'] }), 'c2', prCommits).method).toBe('merge');
  });
  it('rebase: one parent, same author, author date and subject as the last PR commit', () => {
    expect(
      inferMergeMethod(commit('r', { parents: ['r1'], committerLogin: 'web-flow' }), 'c2', prCommits).method,
    ).toBe('rebase');
  });
  it('squash: one parent, a new commit', () => {
    expect(
      inferMergeMethod(
        commit('s', { parents: ['base'], authorDate: '2026-03-02T13:00:00Z', subject: 'Bump parser (#42)' }),
        'c2',
        prCommits,
      ).method,
    ).toBe('squash');
  });
  it('fast-forward: the merge commit is the head', () => {
    expect(inferMergeMethod(commit('c2'), 'c2', prCommits).method).toBe('merge');
  });
});

describe('review commit relation', () => {
  const pr = {
    headSha: 'c3',
    commits: [commit('c1'), commit('c2', { parents: ['c1', 'main'] }), commit('c3', { parents: ['c2'] })],
  } as unknown as PullRequestFacts;
  it('names head, base-update-only, stale and unknown', () => {
    expect(commitRelation('c3', pr)).toBe('head');
    expect(commitRelation('c1', pr)).toBe('stale');
    expect(commitRelation('gone', pr)).toBe('unknown');
    expect(commitRelation(null, pr)).toBe('unknown');
    const baseOnly = { headSha: 'c2', commits: pr.commits.slice(0, 2) } as unknown as PullRequestFacts;
    expect(commitRelation('c1', baseOnly)).toBe('base-update-only');
  });
});

describe('trailers and body fields', () => {
  it('reads Co-authored-by trailers and maps no-reply addresses to logins', () => {
    expect(
      parseCoAuthors(
        'x\n\nCo-authored-by: Bob <1234+bob@users.noreply.github.com>\nco-authored-by: Eve <eve@corp.example>\n',
      ),
    ).toEqual([
      { name: 'Bob', email: '1234+bob@users.noreply.github.com', login: 'bob' },
      { name: 'Eve', email: 'eve@corp.example', login: null },
    ]);
    expect(loginFromNoreply('dependabot[bot]@users.noreply.github.com')).toBe('dependabot[bot]');
  });
  it('reads a field line from a PR body', () => {
    expect(fieldFromBody('Fix\n\nEmergency-Reason:  crash loop (INC-1)\n', 'Emergency-Reason')).toBe(
      'crash loop (INC-1)',
    );
    expect(fieldFromBody('no reason here', 'Emergency-Reason')).toBeNull();
  });
});
