// Builds GitHub scenarios for `clawback approve check`: every response the collector reads,
// as schema-valid samples of GitHub's OpenAPI components with the facts of the story filled in.
// test/approvals/scenarios.ts describes each story; the JSON files under scenarios/ are its output.
import { createHash } from 'node:crypto';
import { type GitHubExchange, type GitHubScenario, sampleComponent, sampleResponse } from '@clawback/testing';

export const OWNER = 'acme';
export const REPO = 'agents';
const R = `/repos/${OWNER}/${REPO}`;
const API = 'https://api.github.com';
export const PR_NUMBER = 42;
export const HEAD_REF = 'feature/parser';

export function sha(label: string): string {
  return createHash('sha1').update(label).digest('hex');
}
export const BASE = sha('base');

/** Times of the story (UTC): commits at 10:00/11:00, checks 11:30, review 12:00, merge 13:00. */
export const T = {
  c1: '2026-03-02T10:00:00Z',
  c2: '2026-03-02T11:00:00Z',
  checks: '2026-03-02T11:30:00Z',
  review: '2026-03-02T12:00:00Z',
  merged: '2026-03-02T13:00:00Z',
  now: '2026-03-02T14:00:00Z',
};

export const DEFAULT_POLICY = `version: 1
approvals:
  required: 1
checks:
  - name: build
    app: github-actions
  - name: test
    app: github-actions
paths:
  - paths: ['policies/**']
    teams: [policy-owners]
environments:
  production:
    teams: [release-managers]
emergency:
  label: emergency
  retro_review:
    label: retro-review
    within: 48h
protected_branches: ['release/*']
`;

export interface CommitSpec {
  key: string;
  author: string;
  committer?: string;
  date?: string;
  message?: string;
  /** A merge of the base branch into the PR branch. */
  mergeFromBase?: boolean;
}

export interface ReviewSpec {
  user: string;
  state: 'APPROVED' | 'CHANGES_REQUESTED' | 'COMMENTED' | 'DISMISSED';
  /** Commit key (`c1`), `head`, or null (force-pushed away). */
  on: string | null;
  bot?: boolean;
  at?: string;
}

export interface CheckSpec {
  name: string;
  /** Commit key, `head` or `merge`. */
  on: string;
  conclusion?: 'success' | 'failure';
  app?: string;
  completedAt?: string;
}

export interface ScenarioSpec {
  name: string;
  description: string;
  expect: NonNullable<GitHubScenario['expect']>;
  commits?: CommitSpec[];
  /** Extra PR commits served on a second page of the commit listing. */
  secondPageCommits?: CommitSpec[];
  mergeMethod?: 'merge' | 'squash' | 'rebase';
  refUpdate?: 'pr_merge' | 'merge_queue_merge' | 'push' | 'force_push';
  /** The commit reached the branch without any pull request. */
  noPullRequest?: boolean;
  reviews?: ReviewSpec[];
  /** Split reviews over pages of this size (Link headers, as GitHub paginates). */
  reviewPageSize?: number;
  checks?: CheckSpec[];
  lastPusher?: string;
  labels?: string[];
  body?: string;
  files?: string[];
  protection?: 'protected' | 'not-protected' | 'no-permission';
  ruleSuiteResult?: 'pass' | 'bypass';
  unprotectedReleaseBranch?: boolean;
  environment?: {
    name: string;
    runId: number;
    triggeredBy: string;
    approvals: { user: string; state: 'approved' | 'rejected' }[];
  };
  retroReviews?: { number: number; mergedAt: string; approvers: string[] }[];
  teams?: Record<string, string[]>;
  /** Pull request number (default PR_NUMBER); distinct numbers let several stories share a recording. */
  prNumber?: number;
  /** The PR's branch (default HEAD_REF). */
  headRef?: string;
  /** Change policy text on the base (default DEFAULT_POLICY). */
  policy?: string;
  /** The PR comes from a fork (its pushes are not in this repository's activity). */
  fork?: boolean;
  /** `.github/CODEOWNERS` on the base. */
  codeowners?: string;
  now?: string;
}

const DEFAULT_COMMITS: CommitSpec[] = [
  { key: 'c1', author: 'alice', date: T.c1, message: 'Parse sensor frames in chunks' },
  { key: 'c2', author: 'alice', date: T.c2, message: 'Bump sensor parser to 1.4.0' },
];

export function user(login: string, type = 'User'): Record<string, unknown> {
  const id = Number.parseInt(sha(login).slice(0, 7), 16);
  return sampleComponent('simple-user', {
    login,
    id,
    type,
    html_url: `https://github.com/${login}`,
    url: `${API}/users/${login}`,
  });
}

function email(login: string): string {
  return `${Number.parseInt(sha(login).slice(0, 7), 16)}+${login}@users.noreply.github.com`;
}

function commitObject(s: {
  sha: string;
  parents: string[];
  author: string;
  committer: string;
  date: string;
  committerDate?: string;
  message: string;
}): Record<string, unknown> {
  const person = (login: string, date: string) =>
    login === 'web-flow'
      ? { name: 'GitHub', email: 'noreply@github.com', date }
      : { name: login[0]?.toUpperCase() + login.slice(1), email: email(login), date };
  return sampleComponent('commit', {
    sha: s.sha,
    url: `${API}${R}/commits/${s.sha}`,
    html_url: `https://github.com/${OWNER}/${REPO}/commit/${s.sha}`,
    commit: {
      message: s.message,
      author: person(s.author, s.date),
      committer: person(s.committer, s.committerDate ?? s.date),
    },
    author: user(s.author),
    committer: user(s.committer),
    parents: s.parents.map((p) => ({ sha: p, url: `${API}${R}/commits/${p}` })),
  });
}

function page(
  path: string,
  items: unknown[],
  size: number | undefined,
  extra: Record<string, unknown> = {},
): GitHubExchange[] {
  if (!size || items.length <= size) return [{ method: 'GET', path, status: 200, response: items, ...extra }];
  const pages: unknown[][] = [];
  for (let i = 0; i < items.length; i += size) pages.push(items.slice(i, i + size));
  return pages.map((p, i) => {
    const link = (n: number) => `<${API}${path}${path.includes('?') ? '&' : '?'}page=${n}>`;
    const rels = [
      ...(i + 1 < pages.length ? [`${link(i + 2)}; rel="next"`] : []),
      `${link(pages.length)}; rel="last"`,
    ];
    return {
      method: 'GET',
      path: i === 0 ? path : `${path}${path.includes('?') ? '&' : '?'}page=${i + 1}`,
      status: 200,
      response: p,
      headers: { link: rels.join(', ') },
    };
  });
}

export function build(spec: ScenarioSpec): GitHubScenario {
  return new ScenarioBuild(spec).scenario();
}

class ScenarioBuild {
  readonly x: GitHubExchange[] = [];
  readonly commits: CommitSpec[];
  readonly shas = new Map<string, string>();
  readonly head: string;
  readonly landed: string;
  readonly author = 'alice';
  readonly pr: number;
  readonly headRef: string;

  constructor(readonly s: ScenarioSpec) {
    this.pr = s.prNumber ?? PR_NUMBER;
    this.headRef = s.headRef ?? HEAD_REF;
    this.commits = [...(s.commits ?? DEFAULT_COMMITS), ...(s.secondPageCommits ?? [])];
    for (const c of this.commits) this.shas.set(c.key, sha(`${s.name}:${c.key}`));
    this.head = this.shas.get(this.commits.at(-1)?.key ?? '') ?? BASE;
    const method = s.mergeMethod ?? 'merge';
    this.landed = s.noPullRequest ? sha(`${s.name}:direct`) : sha(`${s.name}:${method}`);
  }

  ref(key: string | null): string | null {
    if (key === null) return null;
    if (key === 'head') return this.head;
    if (key === 'merge') return this.landed;
    return this.shas.get(key) ?? sha(`${this.s.name}:${key}`);
  }

  get(path: string, response: unknown, status = 200, headers?: Record<string, string>): void {
    this.x.push({ method: 'GET', path, status, response, ...(headers ? { headers } : {}) });
  }

  scenario(): GitHubScenario {
    const s = this.s;
    this.get(
      R,
      sampleResponse(`GET /repos/{owner}/{repo}`, 200, {
        name: REPO,
        full_name: `${OWNER}/${REPO}`,
        default_branch: 'main',
        owner: user(OWNER, 'Organization'),
        private: true,
      }),
    );
    this.landedCommit();
    if (s.noPullRequest) this.get(`${R}/commits/${this.landed}/pulls`, []);
    else this.pullRequest();
    this.activity();
    this.policy();
    this.checks();
    this.protection();
    this.teams();
    this.environment();
    this.retro();
    return {
      name: s.name,
      description: s.description,
      expect: s.expect,
      input: {
        repo: `${OWNER}/${REPO}`,
        commit: this.landed,
        ...(s.environment ? { environment: s.environment.name, runId: s.environment.runId } : {}),
        now: s.now ?? T.now,
      },
      exchanges: this.x,
    };
  }

  private landedCommit(): void {
    const s = this.s;
    const last = this.commits.at(-1) as CommitSpec;
    const method = s.mergeMethod ?? 'merge';
    let obj: Record<string, unknown>;
    if (s.noPullRequest) {
      obj = commitObject({
        sha: this.landed,
        parents: [BASE],
        author: 'mallory',
        committer: 'mallory',
        date: T.merged,
        message: 'Hotfix parser',
      });
    } else if (method === 'merge') {
      obj = commitObject({
        sha: this.landed,
        parents: [BASE, this.head],
        author: 'carol',
        committer: 'web-flow',
        date: T.merged,
        message: `Merge pull request #${this.pr} from ${OWNER}/${this.headRef}`,
      });
    } else if (method === 'squash') {
      obj = commitObject({
        sha: this.landed,
        parents: [BASE],
        author: this.author,
        committer: 'web-flow',
        date: T.merged,
        message: `Bump sensor parser to 1.4.0 (#${this.pr})\n\n* Parse sensor frames in chunks`,
      });
    } else {
      obj = commitObject({
        sha: this.landed,
        parents: [sha(`${s.name}:rebased-c1`)],
        author: last.author,
        committer: 'web-flow',
        date: last.date ?? T.c2,
        committerDate: T.merged,
        message: last.message ?? 'change',
      });
    }
    this.get(`${R}/commits/${this.landed}`, obj);
  }

  private pullRequest(): void {
    const s = this.s;
    const labels = (s.labels ?? []).map((name, i) => ({
      id: i + 1,
      node_id: `L${i}`,
      url: `${API}${R}/labels/${name}`,
      name,
      description: '',
      color: 'ededed',
      default: false,
    }));
    const files = s.files ?? ['agents/sensor/agent.yaml', 'agents/sensor/parser.py'];
    const base = {
      ref: 'main',
      sha: BASE,
      label: `${OWNER}:main`,
      user: user(OWNER, 'Organization'),
      repo: { full_name: `${OWNER}/${REPO}`, name: REPO },
    };
    const head = {
      ref: this.headRef,
      sha: this.head,
      label: `${s.fork ? this.author : OWNER}:${this.headRef}`,
      user: user(this.author),
      repo: { full_name: s.fork ? `${this.author}/${REPO}` : `${OWNER}/${REPO}`, name: REPO },
    };
    const common = {
      number: this.pr,
      title: 'Bump sensor parser to 1.4.0',
      html_url: `https://github.com/${OWNER}/${REPO}/pull/${this.pr}`,
      user: user(this.author),
      state: 'closed',
      merged_at: T.merged,
      merge_commit_sha: this.landed,
      labels,
      body: s.body ?? 'Parses sensor frames in chunks.',
      base,
      head,
    };
    this.get(`${R}/commits/${this.landed}/pulls`, [sampleComponent('pull-request-simple', common)]);
    this.get(
      `${R}/pulls/${this.pr}`,
      sampleResponse('GET /repos/{owner}/{repo}/pulls/{pull_number}', 200, {
        ...common,
        merged: true,
        merged_by: user('carol'),
        commits: this.commits.length,
        changed_files: files.length,
      }),
    );
    let parent = BASE;
    const commitObjs = this.commits.map((c) => {
      const own = this.ref(c.key) as string;
      const parents = c.mergeFromBase ? [parent, sha('base-update')] : [parent];
      parent = own;
      return commitObject({
        sha: own,
        parents,
        author: c.author,
        committer: c.committer ?? c.author,
        date: c.date ?? T.c2,
        message: c.message ?? 'change',
      });
    });
    const firstPage = (s.commits ?? DEFAULT_COMMITS).length;
    this.x.push(
      ...page(`${R}/pulls/${this.pr}/commits`, commitObjs, s.secondPageCommits ? firstPage : undefined),
    );
    this.get(
      `${R}/pulls/${this.pr}/files`,
      files.map((f) => sampleComponent('diff-entry', { filename: f, status: 'modified', sha: sha(f) })),
    );
    const reviews = (s.reviews ?? [{ user: 'bob', state: 'APPROVED', on: 'head' }]).map((r, i) =>
      sampleComponent('pull-request-review', {
        id: 1000 + i,
        user: user(r.user, r.bot ? 'Bot' : 'User'),
        state: r.state,
        commit_id: this.ref(r.on),
        submitted_at: r.at ?? T.review,
        body: '',
        html_url: `https://github.com/${OWNER}/${REPO}/pull/${this.pr}#pullrequestreview-${1000 + i}`,
        pull_request_url: `${API}${R}/pulls/${this.pr}`,
      }),
    );
    this.x.push(...page(`${R}/pulls/${this.pr}/reviews`, reviews, s.reviewPageSize));
    // Who pushed the head: the head branch's activity (a fork's branch is not visible here).
    if (s.fork) return;
    this.get(`${R}/activity?ref=refs/heads/${this.headRef}`, [
      sampleComponent('activity', {
        id: 2,
        before: this.ref(this.commits.at(-2)?.key ?? 'base'),
        after: this.head,
        ref: `refs/heads/${this.headRef}`,
        timestamp: T.c2,
        activity_type: 'push',
        actor: user(s.lastPusher ?? this.author),
      }),
    ]);
  }

  private activity(): void {
    const s = this.s;
    const type = s.refUpdate ?? (s.noPullRequest ? 'push' : 'pr_merge');
    const actor = s.noPullRequest
      ? 'mallory'
      : type === 'merge_queue_merge'
        ? 'github-merge-queue[bot]'
        : 'carol';
    this.get(`${R}/activity?ref=refs/heads/main`, [
      sampleComponent('activity', {
        id: 1,
        before: BASE,
        after: this.landed,
        ref: 'refs/heads/main',
        timestamp: T.merged,
        activity_type: type,
        actor: user(actor, actor.endsWith('[bot]') ? 'Bot' : 'User'),
      }),
    ]);
  }

  private file(path: string, text: string): void {
    this.get(
      `${R}/contents/${path}?ref=${BASE}`,
      sampleComponent('content-file', {
        type: 'file',
        encoding: 'base64',
        name: path.slice(path.lastIndexOf('/') + 1),
        path,
        sha: sha(text),
        size: text.length,
        content: Buffer.from(text).toString('base64'),
      }),
    );
  }

  private policy(): void {
    this.file('.clawback/change-policy.yaml', this.s.policy ?? DEFAULT_POLICY);
    if (this.s.codeowners !== undefined) this.file('.github/CODEOWNERS', this.s.codeowners);
  }

  private checks(): void {
    const s = this.s;
    // A direct push has no PR head: CI ran on the pushed commit itself.
    const on = s.noPullRequest ? 'merge' : 'head';
    const specs = s.checks ?? [
      { name: 'build', on },
      { name: 'test', on },
    ];
    const shas = new Set<string>([
      this.head,
      this.landed,
      ...this.commits.map((c) => this.ref(c.key) as string),
    ]);
    for (const r of s.reviews ?? []) if (r.on) shas.add(this.ref(r.on) as string);
    for (const target of shas) {
      const runs = specs
        .filter((c) => this.ref(c.on) === target)
        .map((c, i) =>
          sampleComponent('check-run', {
            id: 5000 + i,
            name: c.name,
            head_sha: target,
            status: 'completed',
            conclusion: c.conclusion ?? 'success',
            started_at: T.c2,
            completed_at: c.completedAt ?? T.checks,
            app: sampleComponent('nullable-integration', {
              slug: c.app ?? 'github-actions',
              name: 'GitHub Actions',
              owner: user('github', 'Organization'),
            }),
          }),
        );
      this.get(`${R}/commits/${target}/check-runs`, { total_count: runs.length, check_runs: runs });
      this.get(`${R}/commits/${target}/statuses`, []);
    }
  }

  private protection(): void {
    const s = this.s;
    const p = s.protection ?? 'protected';
    if (p === 'protected') {
      this.get(
        `${R}/branches/main/protection`,
        sampleResponse('GET /repos/{owner}/{repo}/branches/{branch}/protection', 200, {
          url: `${API}${R}/branches/main/protection`,
          enabled: true,
          required_status_checks: {
            url: `${API}${R}/branches/main/protection/required_status_checks`,
            strict: true,
            contexts: ['build', 'test'],
            contexts_url: `${API}${R}/branches/main/protection/required_status_checks/contexts`,
            checks: [
              { context: 'build', app_id: 15368 },
              { context: 'test', app_id: 15368 },
            ],
          },
          required_pull_request_reviews: {
            url: `${API}${R}/branches/main/protection/required_pull_request_reviews`,
            dismiss_stale_reviews: true,
            require_code_owner_reviews: false,
            required_approving_review_count: 1,
            require_last_push_approval: true,
          },
          enforce_admins: { url: `${API}${R}/branches/main/protection/enforce_admins`, enabled: false },
        }),
      );
    } else if (p === 'not-protected') {
      this.get(
        `${R}/branches/main/protection`,
        {
          message: 'Branch not protected',
          documentation_url: 'https://docs.github.com/rest/branches/branch-protection#get-branch-protection',
          status: '404',
        },
        404,
      );
    } else {
      this.get(
        `${R}/branches/main/protection`,
        {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest/branches/branch-protection#get-branch-protection',
          status: '404',
        },
        404,
      );
    }
    const prRule = {
      ...sampleComponent('repository-rule-pull-request', {
        type: 'pull_request',
        parameters: {
          dismiss_stale_reviews_on_push: true,
          require_code_owner_review: false,
          require_last_push_approval: true,
          required_approving_review_count: 1,
          required_review_thread_resolution: false,
        },
      }),
      ruleset_source_type: 'Repository',
      ruleset_source: `${OWNER}/${REPO}`,
      ruleset_id: 7,
    };
    this.get(`${R}/rules/branches/main`, p === 'not-protected' ? [] : [prRule]);
    if (p === 'no-permission') {
      this.get(
        `${R}/rulesets/rule-suites`,
        {
          message: 'Not Found',
          documentation_url: 'https://docs.github.com/rest/repos/rule-suites#list-repository-rule-suites',
          status: '404',
        },
        404,
      );
    } else {
      this.get(`${R}/rulesets/rule-suites`, [
        {
          id: 300,
          actor_id: 3,
          actor_name: s.ruleSuiteResult === 'bypass' ? 'root-admin' : 'carol',
          before_sha: BASE,
          after_sha: this.landed,
          ref: 'refs/heads/main',
          repository_id: 1,
          repository_name: REPO,
          pushed_at: T.merged,
          result: s.ruleSuiteResult ?? 'pass',
          evaluation_result: s.ruleSuiteResult === 'bypass' ? 'fail' : 'pass',
        },
      ]);
    }
    const branches = [
      sampleComponent('short-branch', {
        name: 'main',
        commit: { sha: this.landed, url: `${API}${R}/commits/${this.landed}` },
        protected: p === 'protected',
      }),
      sampleComponent('short-branch', {
        name: 'release/1.x',
        commit: { sha: BASE, url: `${API}${R}/commits/${BASE}` },
        protected: true,
      }),
    ];
    if (s.unprotectedReleaseBranch) {
      branches.push(
        sampleComponent('short-branch', {
          name: 'release/2.x',
          commit: { sha: BASE, url: `${API}${R}/commits/${BASE}` },
          protected: false,
        }),
      );
      this.get(
        `${R}/branches/release/2.x/protection`,
        {
          message: 'Branch not protected',
          documentation_url: 'https://docs.github.com/rest/branches/branch-protection#get-branch-protection',
          status: '404',
        },
        404,
      );
      this.get(`${R}/rules/branches/release/2.x`, []);
    }
    this.get(`${R}/branches`, branches);
  }

  private teams(): void {
    const teams = {
      'policy-owners': ['erin', 'bob'],
      'release-managers': ['alice', 'carol', 'dave'],
      ...this.s.teams,
    };
    for (const [slug, members] of Object.entries(teams)) {
      this.get(
        `/orgs/${OWNER}/teams/${slug}/members`,
        members.map((m) => user(m)),
      );
    }
  }

  private environment(): void {
    const env = this.s.environment;
    if (!env) return;
    this.get(
      `${R}/actions/runs/${env.runId}`,
      sampleResponse('GET /repos/{owner}/{repo}/actions/runs/{run_id}', 200, {
        id: env.runId,
        head_sha: this.landed,
        head_branch: 'main',
        event: 'push',
        status: 'completed',
        actor: user(env.triggeredBy),
        triggering_actor: user(env.triggeredBy),
      }),
    );
    this.get(
      `${R}/actions/runs/${env.runId}/approvals`,
      env.approvals.map((a) => ({
        environments: [
          {
            id: 9,
            node_id: 'E9',
            name: env.name,
            url: `${API}${R}/environments/${env.name}`,
            html_url: `https://github.com/${OWNER}/${REPO}/deployments/activity_log?environments_filter=${env.name}`,
            created_at: T.c1,
            updated_at: T.c1,
          },
        ],
        state: a.state,
        user: user(a.user),
        comment: 'ship it',
      })),
    );
  }

  private retro(): void {
    const s = this.s;
    if (!s.labels?.includes('emergency')) return;
    const retros = s.retroReviews ?? [];
    this.get(
      `${R}/issues?labels=retro-review&state=closed`,
      retros.map((r) =>
        sampleComponent('issue', {
          number: r.number,
          title: `Retro review of #${this.pr}`,
          body: `Retro-Review: #${this.pr}`,
          state: 'closed',
          user: user('alice'),
          html_url: `https://github.com/${OWNER}/${REPO}/pull/${r.number}`,
          pull_request: {
            url: `${API}${R}/pulls/${r.number}`,
            html_url: `https://github.com/${OWNER}/${REPO}/pull/${r.number}`,
            diff_url: null,
            patch_url: null,
            merged_at: r.mergedAt,
          },
        }),
      ),
    );
    for (const r of retros) {
      this.get(
        `${R}/pulls/${r.number}`,
        sampleResponse('GET /repos/{owner}/{repo}/pulls/{pull_number}', 200, {
          number: r.number,
          html_url: `https://github.com/${OWNER}/${REPO}/pull/${r.number}`,
          merged_at: r.mergedAt,
          merged: true,
          state: 'closed',
          user: user('alice'),
        }),
      );
      this.get(
        `${R}/pulls/${r.number}/reviews`,
        r.approvers.map((a, i) =>
          sampleComponent('pull-request-review', {
            id: 9000 + i,
            user: user(a),
            state: 'APPROVED',
            commit_id: sha(`retro-${r.number}`),
            submitted_at: r.mergedAt,
          }),
        ),
      );
    }
  }
}
