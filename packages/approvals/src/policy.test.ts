import { describe, expect, it } from 'vitest';
import { branchMatches, filesMatching, parseChangePolicy } from './policy.js';

function problems(text: string): string[] {
  try {
    parseChangePolicy(text);
  } catch (err) {
    expect((err as { code: string }).code).toBe('CHANGE_POLICY_INVALID');
    return (err as { details: { problems: string[] } }).details.problems;
  }
  throw new Error('expected the policy to be rejected');
}

describe('change policy', () => {
  it('parses a full policy with defaults', () => {
    const p = parseChangePolicy(`version: 1
checks: [build, {name: test, app: github-actions}]
paths:
  - paths: ['policies/**']
    teams: [policy-owners]
emergency:
  label: emergency
  retro_review: {within: 36h}
protected_branches: ['release/*']
`);
    expect(p.approvals).toEqual({ required: 1, allowBaseUpdateAfterApproval: true });
    expect(p.checks).toEqual([{ name: 'build' }, { name: 'test', app: 'github-actions' }]);
    expect(p.pathRules[0]).toMatchObject({
      approvals: 1,
      teams: ['policy-owners'],
      users: [],
      codeowners: false,
    });
    expect(p.emergency).toEqual({
      label: 'emergency',
      reasonField: 'Emergency-Reason',
      retroLabel: 'retro-review',
      retroWithinHours: 36,
    });
    expect(branchMatches(p.protectedBranches, 'release/2.x')).toBe(true);
    expect(branchMatches(p.protectedBranches, 'feature/x')).toBe(false);
    expect(
      filesMatching(p.pathRules[0] as never, ['policies/a/b.yaml', 'src/x.ts', 'policies/.hidden']),
    ).toEqual(['policies/a/b.yaml', 'policies/.hidden']);
  });

  it('reports every bad field at once, with its path', () => {
    expect(
      problems(`version: 2
approvals: {required: 0, allow_base_update: maybe}
checks: [{app: x}, 7]
paths:
  - paths: []
    approvals: -1
emergency:
  label: ''
  retro_review: {within: soon}
colour: blue
`),
    ).toEqual([
      'colour: unknown field (allowed: version, approvals, checks, paths, environments, emergency, protected_branches, bots)',
      'version: must be 1',
      'approvals.required: must be a whole number >= 1',
      'approvals.allow_base_update: must be true or false',
      'checks[0].name: must be a non-empty string',
      'checks[1]: must be a check name or {name, app}',
      'paths[0].paths: must list at least one glob',
      'paths[0]: must name at least one team or user, or set codeowners: true',
      'paths[0].approvals: must be a whole number >= 1',
      'emergency.label: must be a non-empty string',
      'emergency.retro_review.within: cannot read duration "soon" (e.g. "48h")',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys', () => {
    expect(problems('version: 1\nversion: 1\n')[0]).toMatch(/line 2/);
    expect(problems('version: [1\n').length).toBeGreaterThan(0);
  });
});
