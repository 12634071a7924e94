/**
 * `check` and `apply`: READ (TUF refresh, console desired target, state) → PLAN (select a
 * release, then the planner's steps) → APPLY (the executor). `check` stops after planning.
 */
import { randomUUID } from 'node:crypto';
import { ClawbackError, isClawbackError, pathExists, readJsonChecked, writeJsonAtomic } from '@clawback/core';
import { type Device, UPDATER_VERSION, underLock } from '../device.js';
import { UpdaterErrors } from '../errors.js';
import { execute } from '../executor.js';
import { describePlan, plan } from '../planner.js';
import { type Selection, type Skipped, selectRelease } from '../select.js';
import {
  loadState,
  otherSlot,
  type ReportOutcome,
  saveState,
  type TargetInfo,
  type Transaction,
  type UpdaterState,
} from '../state.js';
import { type FlushResult, flushReports } from './reports.js';

interface ConsoleCache {
  etag: string | null;
  desired: { version: string; rolloutId: string | null } | null;
  fetchedAt: string;
}

/** The console's desired version (director), or undefined when no console is configured. */
async function desiredVersion(
  device: Device,
): Promise<{ version: string; rolloutId?: string } | null | undefined> {
  const client = await device.consoleClient();
  if (!client) return undefined;
  const path = device.layout.consoleState;
  const cache = (await pathExists(path))
    ? ((await readJsonChecked(path, 'console cache')) as ConsoleCache)
    : null;
  try {
    const res = await client.desired(cache?.etag ?? null);
    if (res.changed) {
      const desired = res.desired ? { version: res.desired.version, rolloutId: res.desired.rolloutId } : null;
      await writeJsonAtomic(path, {
        etag: res.etag,
        desired,
        fetchedAt: device.now().toISOString(),
      } satisfies ConsoleCache);
      return desired
        ? { version: desired.version, ...(desired.rolloutId ? { rolloutId: desired.rolloutId } : {}) }
        : null;
    }
  } catch (err) {
    // The console only directs; when it cannot be reached the last answer it gave stands.
    device.progress(
      `console check-in failed (${isClawbackError(err) ? err.code : 'error'}); using the last desired target`,
    );
  }
  const d = cache?.desired;
  return d ? { version: d.version, ...(d.rolloutId ? { rolloutId: d.rolloutId } : {}) } : null;
}

export interface CheckResult {
  updateAvailable: boolean;
  installed: string | null;
  target: TargetInfo | null;
  refused: { code: string; reason: string } | null;
  skipped: Skipped[];
  reason: string | null;
  inProgress: { version: string; phase: string } | null;
  plan: string[];
}

async function selectFromRepository(
  device: Device,
  state: UpdaterState,
  requested?: string,
): Promise<Selection> {
  const source = await device.source();
  device.progress('TUF: refreshing metadata');
  // The console check-in (a director's hint, never trusted for content) travels while TUF
  // verifies: one round trip less before an install starts.
  const [desired] = await Promise.all([
    requested === undefined ? desiredVersion(device) : { version: requested },
    source.refresh(),
  ]);
  const [candidates, revoked] = await Promise.all([
    source.listReleases(device.config.agent),
    source.revokedVersions(device.config.agent),
  ]);
  if (desired === null) {
    return { kind: 'none', skipped: [], reason: 'the console assigns no release to this device' };
  }
  return selectRelease({
    candidates,
    revoked,
    agent: device.config.agent,
    channel: device.config.channel,
    hardwareId: device.config.hardwareId,
    updaterVersion: UPDATER_VERSION,
    installedVersion: state.committed?.version ?? null,
    floorVersion: state.floorVersion,
    minVersion: device.config.minVersion,
    failedVersions: state.failedVersions,
    requested: desired,
  });
}

export async function checkForUpdate(device: Device, o: { version?: string } = {}): Promise<CheckResult> {
  const state = await loadState(device.layout.state);
  const installed = state.committed?.version ?? null;
  if (state.txn) {
    return {
      updateAvailable: false,
      installed,
      target: state.txn.target,
      refused: null,
      skipped: [],
      reason: `an update to ${state.txn.target.version} is in progress (${state.txn.phase})`,
      inProgress: { version: state.txn.target.version, phase: state.txn.phase },
      plan: describePlan(
        plan({ state, mode: 'apply', maxBootAttempts: device.config.health.maxBootAttempts }),
      ),
    };
  }
  const sel = await selectFromRepository(device, state, o.version);
  const base = { installed, inProgress: null };
  if (sel.kind === 'none') {
    return {
      ...base,
      updateAvailable: false,
      target: null,
      refused: null,
      skipped: sel.skipped,
      reason: sel.reason,
      plan: [],
    };
  }
  if (sel.kind === 'refused') {
    return {
      ...base,
      updateAvailable: false,
      target: sel.target,
      refused: { code: sel.code, reason: sel.reason },
      skipped: [],
      reason: sel.reason,
      plan: ['report rejected'],
    };
  }
  const preview = newTxnState(state, device, sel.target, 'planned', null);
  return {
    ...base,
    updateAvailable: true,
    target: sel.target,
    refused: null,
    skipped: sel.skipped,
    reason: null,
    plan: describePlan(
      plan({ state: preview, mode: 'apply', maxBootAttempts: device.config.health.maxBootAttempts }),
    ),
  };
}

function newTxnState(
  state: UpdaterState,
  device: Device,
  target: TargetInfo,
  phase: 'planned' | 'rejected',
  failure: Transaction['failure'],
): UpdaterState {
  const activeSlot = state.committed?.slot ?? null;
  const txn: Transaction = {
    id: randomUUID(),
    reportId: randomUUID(),
    startedAt: device.now().toISOString(),
    kind: 'update',
    target,
    from: state.committed,
    slot: activeSlot ? otherSlot(activeSlot) : 'a',
    phase,
    trialBoots: 0,
    outcome: phase === 'rejected' ? 'rejected' : null,
    failure,
    health: [],
    probation: null,
    policyHash: null,
    timings: {},
  };
  return { ...state, txn };
}

export interface ApplyResult {
  outcome: ReportOutcome | 'up-to-date' | 'pending';
  from: string | null;
  to: string | null;
  reasonCode: string | null;
  reason: string | null;
  steps: string[];
  health: Transaction['health'];
  reports: FlushResult | null;
}

export async function applyUpdate(
  device: Device,
  o: { version?: string; flush?: boolean } = {},
): Promise<ApplyResult> {
  return underLock(device, async () => {
    await device.slots.repair();
    let state = await loadState(device.layout.state);
    if (state.txn && o.version !== undefined && o.version !== state.txn.target.version) {
      throw new ClawbackError(
        UpdaterErrors.UPDATE_IN_PROGRESS,
        `an update to ${state.txn.target.version} is in progress (${state.txn.phase}); not starting ${o.version}`,
        { hint: 'Run `clawback-updater apply` without --version to finish it first.' },
      );
    }
    if (!state.txn) {
      let sel: Selection;
      try {
        sel = await selectFromRepository(device, state, o.version);
      } catch (err) {
        // TUF refused the repository (or it was unreachable): nothing changes; record why.
        await device.audit.append('updater.check.failed', {
          code: isClawbackError(err) ? err.code : 'INTERNAL',
        });
        throw err;
      }
      if (sel.kind === 'none') {
        await device.audit.append('updater.check', {
          installed: state.committed?.version ?? null,
          update: null,
          reason: sel.reason,
        });
        // Reports queued while offline (a boot-time rollback) go out on the next run.
        const reports = o.flush === false ? null : await flushReports(device);
        return {
          outcome: 'up-to-date',
          from: state.committed?.version ?? null,
          to: null,
          reasonCode: null,
          reason: sel.reason,
          steps: [],
          health: [],
          reports,
        };
      }
      const failure =
        sel.kind === 'refused' ? { code: sel.code, message: sel.reason, stage: 'check' as const } : null;
      state = newTxnState(
        state,
        device,
        sel.target,
        sel.kind === 'refused' ? 'rejected' : 'planned',
        failure,
      );
      await device.audit.append('updater.txn.start', {
        txn: state.txn?.id,
        reportId: state.txn?.reportId,
        from: state.committed?.version ?? null,
        to: sel.target.version,
        sha256: sel.target.sha256,
        ...(failure ? { refused: failure.code } : {}),
      });
      state = await saveState(device.layout.state, state, device.now());
    }
    const run = await execute(device, 'apply');
    const reports = o.flush === false ? null : await flushReports(device);
    const txn = run.lastTxn ?? (state.txn as Transaction);
    const outcome: ApplyResult['outcome'] = run.state.txn ? 'pending' : (txn.outcome ?? 'pending');
    return {
      outcome,
      from: txn.from?.version ?? null,
      to: txn.target.version,
      reasonCode: outcome === 'committed' ? null : (txn.failure?.code ?? null),
      reason: outcome === 'committed' ? null : (txn.failure?.message ?? null),
      steps: describePlan(run.steps),
      health: txn.health,
      reports,
    };
  });
}
