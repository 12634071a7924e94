// The change-control stories `clawback approve check` must get right (issue 5). Each becomes
// test/approvals/scenarios/<name>.json through scenario-builder.ts; scenario-files.test.ts keeps
// the committed files identical to this source (CLAWBACK_WRITE_SCENARIOS=1 rewrites them; then
// run `npx biome format --write test/approvals/scenarios`).
import { build, DEFAULT_POLICY, type ScenarioSpec, T } from './scenario-builder.js';

const approved = (findings: string[] = []) => ({ status: 'approved', failedRules: [], findings });
const rejected = (failedRules: string[], findings: string[] = []) => ({
  status: 'rejected',
  failedRules,
  findings,
});

const CODEOWNERS_POLICY = DEFAULT_POLICY.replace(
  'paths:\n',
  "paths:\n  - paths: ['agents/**']\n    codeowners: true\n",
);
const CODEOWNERS = '# owners\n*                @acme/platform\n/agents/sensor/  @acme/sensor-owners @erin\n';

const SPECS: ScenarioSpec[] = [
  {
    name: 'approved-on-head',
    description:
      'Merge commit; bob approved the merged head; build and test passed on the head before merge.',
    expect: approved(),
  },
  {
    name: 'stale-approval',
    description: 'bob approved c1; alice then pushed c2 with real changes and merged without a new review.',
    reviews: [{ user: 'bob', state: 'APPROVED', on: 'c1' }],
    expect: rejected(['stale-approval', 'insufficient-approvals']),
  },
  {
    name: 'approval-before-base-update',
    description:
      'bob approved c1; the only later commit merges main into the branch, so the approval still covers the change.',
    commits: [
      { key: 'c1', author: 'alice', date: T.c1, message: 'Parse sensor frames in chunks' },
      {
        key: 'c2',
        author: 'alice',
        date: T.c2,
        message: "Merge branch 'main' into feature/parser",
        mergeFromBase: true,
      },
    ],
    reviews: [{ user: 'bob', state: 'APPROVED', on: 'c1' }],
    expect: approved(),
  },
  {
    name: 'self-approval',
    description: 'The PR author alice approved her own PR (through a second session); no one else approved.',
    reviews: [{ user: 'alice', state: 'APPROVED', on: 'head' }],
    expect: rejected([
      'self-approval',
      'committer-approval',
      'last-pusher-approval',
      'insufficient-approvals',
    ]),
  },
  {
    name: 'co-author-approval',
    description: 'c2 carries a Co-authored-by trailer for bob, and bob is the only approver.',
    commits: [
      { key: 'c1', author: 'alice', date: T.c1, message: 'Parse sensor frames in chunks' },
      {
        key: 'c2',
        author: 'alice',
        date: T.c2,
        message: 'Bump sensor parser to 1.4.0\n\nCo-authored-by: Bob <122222+bob@users.noreply.github.com>',
      },
    ],
    expect: rejected(['co-author-approval', 'insufficient-approvals']),
  },
  {
    name: 'last-pusher-approval',
    description: "dave pushed the head commit (alice's cherry-picked change) and then approved it.",
    lastPusher: 'dave',
    reviews: [{ user: 'dave', state: 'APPROVED', on: 'head' }],
    expect: rejected(['last-pusher-approval', 'insufficient-approvals']),
  },
  {
    name: 'bot-approval',
    description: 'Only a bot approved the PR.',
    reviews: [{ user: 'approve-bot[bot]', state: 'APPROVED', on: 'head', bot: true }],
    expect: rejected(['bot-approval', 'insufficient-approvals']),
  },
  {
    name: 'admin-bypass',
    description: 'No approval; an admin merged anyway, bypassing the ruleset (rule suite result: bypass).',
    reviews: [{ user: 'bob', state: 'COMMENTED', on: 'head' }],
    ruleSuiteResult: 'bypass',
    expect: rejected(['insufficient-approvals', 'admin-bypass']),
  },
  {
    name: 'squash-merge',
    description:
      'Squash merge: the shipped commit is new, mapped back to PR #42 through /commits/{sha}/pulls.',
    mergeMethod: 'squash',
    expect: approved(['squash-merge']),
  },
  {
    name: 'rebase-merge',
    description:
      "Rebase merge: the shipped commit replays alice's last commit (same author, date and subject).",
    mergeMethod: 'rebase',
    expect: approved(['rebase-merge']),
  },
  {
    name: 'merge-queue',
    description: 'Merged by the merge queue: required checks ran on the merge group commit that landed.',
    refUpdate: 'merge_queue_merge',
    checks: [
      { name: 'build', on: 'merge', completedAt: '2026-03-02T12:50:00Z' },
      { name: 'test', on: 'merge', completedAt: '2026-03-02T12:55:00Z' },
    ],
    expect: approved(['merge-queue']),
  },
  {
    name: 'direct-push',
    description: 'mallory pushed a commit straight to main; no pull request exists.',
    noPullRequest: true,
    refUpdate: 'push',
    expect: rejected(['direct-push']),
  },
  {
    name: 'force-push',
    description: 'main was force-pushed to a commit that no pull request produced.',
    noPullRequest: true,
    refUpdate: 'force_push',
    expect: rejected(['force-push']),
  },
  {
    name: 'review-commit-null',
    description:
      "The branch was force-pushed after bob's approval; GitHub now reports the review's commit_id as null.",
    reviews: [{ user: 'bob', state: 'APPROVED', on: null }],
    expect: rejected(['approval-commit-unknown', 'insufficient-approvals']),
  },
  {
    name: 'missing-check',
    description: 'The required "test" check never ran on the head.',
    checks: [{ name: 'build', on: 'head' }],
    expect: rejected(['required-check-missing']),
  },
  {
    name: 'check-on-wrong-sha',
    description: '"test" passed on c1 (the reviewed commit) but never on the merged head c2.',
    reviews: [
      { user: 'bob', state: 'APPROVED', on: 'c1' },
      { user: 'erin', state: 'APPROVED', on: 'head' },
    ],
    checks: [
      { name: 'build', on: 'head' },
      { name: 'test', on: 'c1' },
    ],
    expect: rejected(['check-on-wrong-sha'], ['stale-approval']),
  },
  {
    name: 'check-from-wrong-app',
    description: 'A "build" check passed on the head, but from an app other than github-actions.',
    checks: [
      { name: 'build', on: 'head', app: 'sneaky-ci' },
      { name: 'test', on: 'head' },
    ],
    expect: rejected(['check-wrong-app']),
  },
  {
    name: 'environment-self-approval',
    description: 'Rollout to production: run 99 triggered by carol, approved only by alice, the PR author.',
    environment: {
      name: 'production',
      runId: 99,
      triggeredBy: 'carol',
      approvals: [{ user: 'alice', state: 'approved' }],
    },
    expect: rejected(['environment-self-approval', 'environment-approval-missing']),
  },
  {
    name: 'environment-approved',
    description: 'Rollout to production: run 99 triggered by carol, approved by dave (a release manager).',
    environment: {
      name: 'production',
      runId: 99,
      triggeredBy: 'carol',
      approvals: [{ user: 'dave', state: 'approved' }],
    },
    expect: approved(),
  },
  {
    name: 'emergency-with-retro-review',
    description:
      'Emergency hotfix merged unreviewed with a reason; retro-review PR #43 approved by bob and merged within 48h.',
    labels: ['emergency'],
    body: 'Fixes the parser crash.\n\nEmergency-Reason: parser crash loop on every device (INC-2231)',
    reviews: [],
    retroReviews: [{ number: 43, mergedAt: '2026-03-03T09:00:00Z', approvers: ['bob'] }],
    now: '2026-03-04T09:00:00Z',
    expect: {
      status: 'emergency-retro-complete',
      failedRules: [],
      findings: ['emergency-retro-review-complete'],
    },
  },
  {
    name: 'emergency-retro-pending',
    description:
      'Emergency hotfix one hour after merge; the retro review is not due yet, so it ships flagged.',
    labels: ['emergency'],
    body: 'Emergency-Reason: parser crash loop on every device (INC-2231)',
    reviews: [],
    expect: {
      status: 'emergency-pending-retro',
      failedRules: [],
      findings: ['emergency-retro-review-pending'],
    },
  },
  {
    name: 'emergency-without-retro-review',
    description: 'Emergency hotfix; 72h later no retro-review PR has been merged.',
    labels: ['emergency'],
    body: 'Emergency-Reason: parser crash loop on every device (INC-2231)',
    reviews: [],
    retroReviews: [],
    now: '2026-03-05T13:00:00Z',
    expect: rejected(['emergency-retro-review-missing']),
  },
  {
    name: 'paginated-reviews',
    description:
      'Reviews span 4 pages and commits 2 pages: dave (author of a commit on page 2) approved on page 2, bob on page 4.',
    secondPageCommits: [
      { key: 'c3', author: 'dave', date: '2026-03-02T11:10:00Z', message: 'Tidy parser imports' },
    ],
    reviewPageSize: 3,
    reviews: [
      { user: 'erin', state: 'COMMENTED', on: 'c1' },
      { user: 'frank', state: 'COMMENTED', on: 'c1' },
      { user: 'carol', state: 'CHANGES_REQUESTED', on: 'c1' },
      { user: 'erin', state: 'COMMENTED', on: 'c2' },
      { user: 'dave', state: 'APPROVED', on: 'head' },
      { user: 'frank', state: 'COMMENTED', on: 'head' },
      { user: 'erin', state: 'COMMENTED', on: 'head' },
      { user: 'frank', state: 'COMMENTED', on: 'head' },
      { user: 'carol', state: 'COMMENTED', on: 'head' },
      { user: 'bob', state: 'APPROVED', on: 'head' },
    ],
    expect: approved(['committer-approval']),
  },
  {
    name: 'policy-path-needs-owner',
    description:
      'The PR changes policies/fleet.yaml; bob (a policy owner) approved, so the path rule is met.',
    files: ['policies/fleet.yaml'],
    expect: approved(),
  },
  {
    name: 'policy-path-missing-owner',
    description: 'The PR changes policies/fleet.yaml but only dave (not a policy owner) approved.',
    files: ['policies/fleet.yaml'],
    reviews: [{ user: 'dave', state: 'APPROVED', on: 'head' }],
    expect: rejected(['path-approval-missing']),
  },
  {
    name: 'codeowners-approved',
    description:
      'A codeowners path rule: bob (in @acme/sensor-owners, owner of agents/sensor/ on the base) approved.',
    policy: CODEOWNERS_POLICY,
    codeowners: CODEOWNERS,
    teams: { 'sensor-owners': ['bob'] },
    expect: approved(),
  },
  {
    name: 'codeowners-not-approved',
    description: 'A codeowners path rule: only dave approved, who owns nothing under agents/sensor/.',
    policy: CODEOWNERS_POLICY,
    codeowners: CODEOWNERS,
    teams: { 'sensor-owners': ['bob'] },
    reviews: [{ user: 'dave', state: 'APPROVED', on: 'head' }],
    expect: rejected(['path-approval-missing']),
  },
  {
    name: 'fork-pull-request',
    description:
      "The PR comes from alice's fork: who pushed the head cannot be read, so the record says so and falls back to the head committer.",
    fork: true,
    expect: approved(['not-verified']),
  },
  {
    name: 'unprotected-branches',
    description: 'main has no protection or ruleset, and release/2.x is unprotected.',
    protection: 'not-protected',
    unprotectedReleaseBranch: true,
    expect: rejected(['branch-not-protected', 'release-branch-unprotected']),
  },
  {
    name: 'token-without-admin-read',
    description:
      'GITHUB_TOKEN cannot read branch protection or rule suites (Administration: read); the record says "not verified".',
    protection: 'no-permission',
    expect: approved(['not-verified']),
  },
];

export const SCENARIOS = SPECS.map(build);
