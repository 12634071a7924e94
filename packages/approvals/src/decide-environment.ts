/**
 * Rollout approval through a GitHub deployment environment: someone other than
 * the PR author and the person who started the deploying run must approve it
 * (design §2: approver ≠ author ≠ run triggerer), on the commit being deployed.
 */

import { type ChangeEvidence, isBot } from './evidence.js';
import type { Findings } from './findings.js';
import type { ChangePolicy } from './policy.js';

export function decideEnvironment(e: ChangeEvidence, policy: ChangePolicy, f: Findings): void {
  const env = e.environment;
  if (!env) return;
  const rule = policy.environments[env.name];
  const author = e.pullRequest?.author.login.toLowerCase() ?? null;
  const triggerers = new Set(
    [env.runActor, env.runTriggeringActor].filter((x): x is string => !!x).map((x) => x.toLowerCase()),
  );
  const allowed = new Set<string>((rule?.users ?? []).map((u) => u.toLowerCase()));
  let restricted = (rule?.users.length ?? 0) > 0;
  for (const t of rule?.teams ?? []) {
    restricted = true;
    const team = e.teams[t];
    if (team?.status === 'ok') for (const m of team.members) allowed.add(m.toLowerCase());
  }
  if (env.runHeadSha !== null && env.runHeadSha !== e.commit) {
    f.add(
      'environment-run-wrong-commit',
      'fail',
      `workflow run ${env.runId} deployed ${env.runHeadSha.slice(0, 12)}, not ${e.commit.slice(0, 12)}`,
    );
  }
  const disq: { id: Parameters<Findings['add']>[0]; message: string }[] = [];
  let good = 0;
  for (const a of env.approvals) {
    if (a.state !== 'approved' || !a.environments.includes(env.name) || !a.user) continue;
    const login = a.user.login.toLowerCase();
    const at = `${a.user.login}'s approval of environment ${env.name}`;
    const before = disq.length;
    if (isBot(a.user, policy.bots)) disq.push({ id: 'bot-approval', message: `${at} is from a bot` });
    if (author !== null && login === author)
      disq.push({ id: 'environment-self-approval', message: `${at} is by the PR author` });
    if (triggerers.has(login))
      disq.push({
        id: 'environment-triggerer-approval',
        message: `${at} is by the account that triggered run ${env.runId}`,
      });
    if (restricted && !allowed.has(login))
      disq.push({
        id: 'environment-approver-not-allowed',
        message: `${at}: not in the environment's approvers (${[...(rule?.teams ?? []).map((t) => `team ${t}`), ...(rule?.users ?? [])].join(', ')})`,
      });
    if (disq.length === before) good += 1;
  }
  for (const d of disq)
    f.add(d.id, good > 0 ? 'warn' : 'fail', good > 0 ? `${d.message} (did not count)` : d.message);
  if (good === 0) {
    f.add(
      'environment-approval-missing',
      'fail',
      `no qualifying approval of environment ${env.name} for run ${env.runId}`,
    );
  }
}
