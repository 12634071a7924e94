/** `boot`, `probation`, `rollback` and `status`: the offline commands a daemon drives. */
import { randomUUID } from 'node:crypto';
import { ClawbackError } from '@clawback/core';
import { type Device, underLock } from '../device.js';
import { UpdaterErrors } from '../errors.js';
import { execute } from '../executor.js';
import { describePlan, plan } from '../planner.js';
import { loadState, saveState, type Transaction, type UpdaterState } from '../state.js';

export interface OfflineResult {
  outcome: Transaction['outcome'] | 'trial' | 'idle';
  active: string | null;
  version: string | null;
  trialBoots: number | null;
  reasonCode: string | null;
  reason: string | null;
  steps: string[];
  health: Transaction['health'];
}

async function summarize(device: Device, run: Awaited<ReturnType<typeof execute>>): Promise<OfflineResult> {
  const txn = run.state.txn;
  const last = run.lastTxn;
  const concluded = !txn && last && run.steps.some((s) => s.kind === 'finish');
  return {
    outcome: txn ? 'trial' : concluded ? last.outcome : 'idle',
    active: await device.slots.active(),
    version: run.state.committed?.version ?? null,
    trialBoots: txn?.trialBoots ?? null,
    reasonCode: concluded && last.outcome !== 'committed' ? (last.failure?.code ?? null) : null,
    reason: concluded && last.outcome !== 'committed' ? (last.failure?.message ?? null) : null,
    steps: describePlan(run.steps),
    health: (txn ?? last)?.health ?? [],
  };
}

/**
 * Design §6 invariant 1 at start-up: `current` must name a complete, verified slot. If an
 * interrupted switch left it elsewhere, put it back on the committed slot before anything runs.
 */
async function ensureCurrentIsComplete(device: Device, state: UpdaterState): Promise<void> {
  await device.slots.repair();
  const active = await device.slots.active();
  if (active === null || (await device.slots.readMeta(active))) return;
  if (state.committed && (await device.slots.readMeta(state.committed.slot))) {
    await device.slots.activate(state.committed.slot);
    await device.audit.append('updater.repair', { from: active, to: state.committed.slot });
  }
}

/** Daemon start-up: count a trial boot and, past the limit, roll back without network. */
export async function bootDevice(device: Device): Promise<OfflineResult> {
  return underLock(device, async () => {
    await ensureCurrentIsComplete(device, await loadState(device.layout.state));
    return summarize(device, await execute(device, 'boot'));
  });
}

/** Run probation for the trial slot, then commit or roll back. */
export async function probationCommand(device: Device): Promise<OfflineResult> {
  return underLock(device, async () => {
    const state = await loadState(device.layout.state);
    const phase = state.txn?.phase;
    if (phase !== 'switched' && phase !== 'restarted' && phase !== 'healthy' && phase !== 'unhealthy') {
      throw new ClawbackError(UpdaterErrors.NO_TRIAL_IN_PROGRESS, 'no trial slot is on probation', {
        hint: '`clawback-updater status` shows the state; probation runs after `apply` switched slots.',
      });
    }
    return summarize(device, await execute(device, 'probation'));
  });
}

/**
 * Operator rollback. During a trial it fails the trial (the planner then rolls back);
 * otherwise it returns to the release in the other slot, if that slot holds a complete one.
 */
export async function rollbackDevice(device: Device, reason: string): Promise<OfflineResult> {
  return underLock(device, async () => {
    let state = await loadState(device.layout.state);
    const failure = { code: UpdaterErrors.MANUAL_ROLLBACK, message: reason, stage: 'rollback' as const };
    const txn = state.txn;
    if (txn && ['switched', 'restarted', 'healthy'].includes(txn.phase)) {
      state = { ...state, txn: { ...txn, phase: 'unhealthy', failure } };
    } else if (txn) {
      throw new ClawbackError(
        UpdaterErrors.UPDATE_IN_PROGRESS,
        `an update to ${txn.target.version} is at ${txn.phase}`,
        {
          hint: 'Let `clawback-updater apply` finish it (the active slot is untouched until the switch).',
        },
      );
    } else {
      const committed = state.committed;
      const other = committed ? (committed.slot === 'a' ? 'b' : 'a') : null;
      const meta = other ? await device.slots.readMeta(other) : null;
      if (!committed || !meta) {
        throw new ClawbackError(
          UpdaterErrors.NOTHING_TO_ROLL_BACK,
          'no earlier complete release to roll back to',
          {
            hint: 'The other slot is empty or was overwritten; install a fixed release instead.',
          },
        );
      }
      state = {
        ...state,
        txn: {
          id: randomUUID(),
          reportId: randomUUID(),
          startedAt: device.now().toISOString(),
          kind: 'manual-rollback',
          target: {
            agent: device.config.agent,
            version: committed.version,
            channel: device.config.channel,
            targetPath: committed.targetPath,
            length: 0,
            sha256: committed.digest,
            hardwareIds: [device.config.hardwareId],
            minUpdaterVersion: null,
          },
          from: meta.release,
          slot: committed.slot,
          phase: 'unhealthy',
          trialBoots: 0,
          outcome: null,
          failure,
          health: [],
          probation: null,
          policyHash: committed.policyHash ?? null,
          timings: {},
        },
      };
    }
    await device.audit.append('updater.rollback.requested', { reason, txn: state.txn?.id ?? null });
    await saveState(device.layout.state, state, device.now());
    return summarize(device, await execute(device, 'offline'));
  });
}

export interface StatusResult {
  deviceId: string;
  agent: string;
  channel: string;
  active: string | null;
  committed: UpdaterState['committed'];
  floorVersion: string | null;
  failedVersions: string[];
  transaction: { version: string; phase: string; trialBoots: number; failure: Transaction['failure'] } | null;
  pendingReports: number;
  nextSteps: string[];
}

export async function deviceStatus(device: Device): Promise<StatusResult> {
  const state = await loadState(device.layout.state);
  const txn = state.txn;
  return {
    deviceId: device.config.deviceId,
    agent: device.config.agent,
    channel: device.config.channel,
    active: await device.slots.active(),
    committed: state.committed,
    floorVersion: state.floorVersion,
    failedVersions: state.failedVersions,
    transaction: txn
      ? { version: txn.target.version, phase: txn.phase, trialBoots: txn.trialBoots, failure: txn.failure }
      : null,
    pendingReports: (await device.queue.list()).length,
    nextSteps: describePlan(
      plan({ state, mode: 'apply', maxBootAttempts: device.config.health.maxBootAttempts }),
    ),
  };
}
