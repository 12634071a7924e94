/** `clawback repo refresh` (cron-safe re-signing of online roles) and `clawback repo status`. */
import { ClawbackError } from '@clawback/core';
import { Targets } from '@tufjs/models';
import { TOP_ROLES, type TopRole } from './config.js';
import { TufRepoErrors } from './errors.js';
import { Keyring } from './keyring.js';
import { expiryFrom, SPEC_VERSION } from './metadata.js';
import {
  appendAudit,
  auditSigner,
  commit,
  loadRepo,
  type RepoState,
  remainingMs,
  signedAt,
  withRepoLock,
} from './repository.js';

export interface RefreshOptions {
  repo: string;
  now: Date;
  /** Keys directory to look for online keys in (default: the one recorded at init). */
  keysDir?: string;
  keyRefs?: readonly string[];
  /** Re-sign timestamp (and snapshot) even if not due. */
  force?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface RefreshResult {
  /** Roles given a new version, in signing order. */
  resigned: TopRole[];
  versions: Record<TopRole, number>;
  expires: Record<TopRole, string>;
}

function due(state: RepoState, role: TopRole, now: Date): boolean {
  const md = state[role];
  return remainingMs(md.signed.expires, now) <= state.settings.roles[role].refreshBeforeMs;
}

/**
 * Re-sign what is due. The timestamp is re-signed when within its refresh window (or
 * `force`), the snapshot likewise, targets when its key is available and it is due. If
 * something due cannot be signed (its key is offline or missing), everything that could
 * be signed is still written and the call then fails with TUF_KEY_MISSING naming it, so
 * cron reports it while devices keep receiving fresh timestamps.
 */
export async function refreshRepo(options: RefreshOptions): Promise<RefreshResult> {
  return withRepoLock(options.repo, async () => {
    let state = await loadRepo(options.repo);
    const { now } = options;
    const ring = await Keyring.load({
      keysDir: options.keysDir ?? state.settings.keysDir,
      ...(options.keyRefs ? { keyRefs: options.keyRefs } : {}),
      ...(options.env ? { env: options.env } : {}),
    });
    const problems: string[] = [];
    const resigned: TopRole[] = [];
    let newTargets: Targets | undefined;
    if (due(state, 'targets', now)) {
      const def = state.root.signed.roles.targets;
      if (def && ring.pick(def.keyIDs).length >= def.threshold) {
        const t = state.targets.signed;
        newTargets = new Targets({
          version: t.version + 1,
          specVersion: SPEC_VERSION,
          expires: expiryFrom(now, state.settings.roles.targets.expiresMs),
          targets: t.targets,
          unrecognizedFields: signedAt(now),
        });
      } else {
        problems.push(
          `targets expires ${state.targets.signed.expires} and its release key is not available here`,
        );
      }
    }
    const snapshotDue = newTargets !== undefined || due(state, 'snapshot', now) || options.force === true;
    const timestampDue = snapshotDue || due(state, 'timestamp', now);
    if (timestampDue) {
      state = await commit(
        state,
        { ...(newTargets ? { targets: newTargets } : {}), snapshot: snapshotDue },
        ring,
        now,
      );
      if (newTargets) resigned.push('targets');
      if (snapshotDue) resigned.push('snapshot');
      resigned.push('timestamp');
      await appendAudit(
        state.dir,
        now,
        'tuf.repo.refresh',
        {
          resigned,
          timestampVersion: state.timestamp.signed.version,
          snapshotVersion: state.snapshot.signed.version,
        },
        auditSigner(state.root, ring),
      );
    }
    if (due(state, 'root', now)) {
      problems.push(
        `root v${state.root.signed.version} expires ${state.root.signed.expires}: hold a root key ceremony (runbooks/expired-metadata.md)`,
      );
    }
    if (problems.length > 0) {
      throw new ClawbackError(TufRepoErrors.TUF_KEY_MISSING, `repo refresh: ${problems.join('; ')}`, {
        hint:
          resigned.length > 0
            ? `Re-signed ${resigned.join(', ')}; the rest needs the offline key(s) named above.`
            : 'Make the named key available and rerun, or follow runbooks/expired-metadata.md.',
        details: { resigned, problems },
      });
    }
    return summary(state, resigned);
  });
}

function summary(state: RepoState, resigned: TopRole[]): RefreshResult {
  const versions = {} as Record<TopRole, number>;
  const expires = {} as Record<TopRole, string>;
  for (const r of TOP_ROLES) {
    versions[r] = state[r].signed.version;
    expires[r] = state[r].signed.expires;
  }
  return { resigned, versions, expires };
}

export interface RoleStatus {
  version: number;
  expires: string;
  /** Seconds until expiry (negative when expired). */
  expiresInSeconds: number;
  expired: boolean;
  /** Within the configured refresh window. */
  refreshDue: boolean;
  threshold: number;
  keys: { keyid: string; name?: string }[];
}

export interface RepoStatus {
  repo: string;
  consistentSnapshot: boolean;
  roles: Record<TopRole, RoleStatus>;
  soonest: { role: TopRole; expires: string };
  targets: number;
  releases: number;
}

export async function repoStatus(repo: string, now: Date): Promise<RepoStatus> {
  const state = await loadRepo(repo);
  const roles = {} as Record<TopRole, RoleStatus>;
  let soonest: { role: TopRole; expires: string } | undefined;
  for (const r of TOP_ROLES) {
    const md = state[r].signed;
    const def = state.root.signed.roles[r];
    const left = remainingMs(md.expires, now);
    roles[r] = {
      version: md.version,
      expires: md.expires,
      expiresInSeconds: Math.floor(left / 1000),
      expired: left <= 0,
      refreshDue: left <= state.settings.roles[r].refreshBeforeMs,
      threshold: def?.threshold ?? 0,
      keys: (def?.keyIDs ?? []).map((keyid) => {
        const name = state.settings.keyNames[keyid];
        return name === undefined ? { keyid } : { keyid, name };
      }),
    };
    if (!soonest || new Date(md.expires) < new Date(soonest.expires))
      soonest = { role: r, expires: md.expires };
  }
  const paths = Object.keys(state.targets.signed.targets);
  return {
    repo: state.dir,
    consistentSnapshot: state.root.signed.consistentSnapshot,
    roles,
    soonest: soonest as { role: TopRole; expires: string },
    targets: paths.length,
    releases: paths.filter((p) => p.endsWith('/bundle.clawback')).length,
  };
}
