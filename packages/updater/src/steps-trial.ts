/**
 * Steps of the trial and after: restart, boot counting, probation, commit, rollback, report,
 * finish. Steps record facts; the planner alone decides to roll back.
 */
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { UPDATER_VERSION } from './device.js';
import { UpdaterErrors } from './errors.js';
import type { StepHandler } from './executor.js';
import { runProbation } from './health.js';
import { buildReport, signReport } from './report.js';
import { runRestartHook } from './restart-hook.js';
import { semver } from './semver.js';
import { releaseOf, txnDir, txnOf, withTxn } from './steps-common.js';

export const restart: StepHandler<'restart'> = async (device, state, step) => {
  const hook = await runRestartHook(device, step.slot, 'trial');
  if (!hook.ok) {
    return {
      state: withTxn(state, {
        phase: 'unhealthy',
        failure: { code: UpdaterErrors.RESTART_HOOK_FAILED, message: hook.message, stage: 'switch' },
      }),
      audit: { hook: hook.message, ok: false },
    };
  }
  return { state: withTxn(state, { phase: 'restarted' }), audit: { hook: hook.message, ok: true } };
};

export const countBoot: StepHandler<'countBoot'> = async (device, state, step) => {
  const limit = device.config.health.maxBootAttempts;
  if (!step.exceeded) {
    return {
      state: withTxn(state, { trialBoots: step.boots, phase: 'restarted' }),
      audit: { boots: step.boots, limit },
    };
  }
  const message = `trial slot booted ${step.boots} times without passing probation (limit ${limit})`;
  return {
    state: withTxn(state, {
      trialBoots: step.boots,
      phase: 'unhealthy',
      failure: { code: UpdaterErrors.BOOT_ATTEMPTS_EXCEEDED, message, stage: 'boot' },
    }),
    audit: { boots: step.boots, limit, exceeded: true },
  };
};

export const probation: StepHandler<'probation'> = async (device, state, step) => {
  const txn = txnOf(state);
  const p = txn.probation;
  const h = device.config.health;
  const result = await runProbation({
    slotDir: device.slots.slotDir(step.slot),
    root: device.layout.root,
    windowSecs: h.probationSecs ?? p?.windowSecs ?? 0,
    sampleIntervalSecs: h.sampleIntervalSecs,
    pidFile: h.pidFile ? resolve(device.layout.root, h.pidFile) : null,
    maxWorkingSetMb: p?.maxWorkingSetMb ?? null,
    maxCpuPercent: p?.maxCpuPercent ?? null,
    heartbeatIntervalSecs: p?.heartbeatIntervalSecs ?? null,
    deviceChecks: h.checks,
    manifestChecks: p?.checks ?? [],
    ...(device.signal ? { signal: device.signal } : {}),
  });
  const timings = { ...txn.timings, probationMs: result.elapsedMs };
  if (result.ok) {
    return {
      state: withTxn(state, { phase: 'healthy', health: result.results, timings }),
      audit: { ok: true, health: result.results },
    };
  }
  const failure = {
    code: result.failure?.code ?? UpdaterErrors.HEALTH_CHECK_FAILED,
    message: result.failure?.message ?? 'health check failed',
    stage: 'probation' as const,
  };
  return {
    state: withTxn(state, { phase: 'unhealthy', health: result.results, failure, timings }),
    audit: { ok: false, failure, health: result.results },
  };
};

export const commit: StepHandler<'commit'> = async (_device, state) => {
  const txn = txnOf(state);
  const release = releaseOf(txn);
  const floor =
    state.floorVersion && semver.gt(state.floorVersion, release.version)
      ? state.floorVersion
      : release.version;
  return {
    state: {
      ...withTxn(state, { phase: 'committed', outcome: 'committed' }),
      committed: release,
      floorVersion: floor,
    },
    audit: { committed: release },
  };
};

export const rollback: StepHandler<'rollback'> = async (device, state, step) => {
  const txn = txnOf(state);
  if (step.to === null) {
    return {
      state: withTxn(state, { phase: 'failed', outcome: 'failed' }),
      audit: { rolledBack: false, reason: 'no earlier release to return to; the trial stays active' },
    };
  }
  await device.slots.activate(step.to);
  const hook = await runRestartHook(device, step.to, 'rollback');
  const committed = txn.from ?? state.committed;
  return {
    state: { ...withTxn(state, { phase: 'rolled-back', outcome: 'rolled-back' }), committed },
    audit: {
      from: step.from,
      to: step.to,
      hook: hook.message,
      hookOk: hook.ok,
      code: txn.failure?.code ?? null,
    },
  };
};

export const report: StepHandler<'report'> = async (device, state, step) => {
  const txn = txnOf(state);
  const now = device.now();
  const totalMs = Math.max(0, now.getTime() - Date.parse(txn.startedAt));
  const finalTxn = { ...txn, timings: { ...txn.timings, totalMs } };
  const active = step.outcome === 'committed' ? releaseOf(txn) : (state.committed ?? null);
  const head = await device.audit.append('updater.report.built', {
    txn: txn.id,
    reportId: txn.reportId,
    outcome: step.outcome,
  });
  const payload = buildReport({
    txn: finalTxn,
    outcome: step.outcome,
    deviceId: device.config.deviceId,
    now,
    auditHead: { seq: head.seq, hash: head.hash },
    policyHash: active?.policyHash ?? null,
    updaterVersion: UPDATER_VERSION,
  });
  const envelope = await signReport(payload, device.signer);
  const queued = await device.queue.enqueue(txn.reportId, envelope);
  return {
    state: withTxn(state, { phase: 'reported', timings: finalTxn.timings }),
    audit: { reportId: txn.reportId, outcome: step.outcome, queued },
  };
};

export const finish: StepHandler<'finish'> = async (device, state) => {
  const txn = txnOf(state);
  await rm(txnDir(device, txn), { recursive: true, force: true });
  const active = await device.slots.active();
  // A slot left half-written by a refused install is emptied; a complete earlier release is kept.
  if (active !== txn.slot && !(await device.slots.readMeta(txn.slot))) await device.slots.prepare(txn.slot);
  const failed =
    txn.outcome === 'rolled-back' ||
    txn.outcome === 'rejected' ||
    (txn.outcome === 'failed' && txn.failure?.stage === 'probation');
  const failedVersions =
    failed && txn.kind === 'update' && !state.failedVersions.includes(txn.target.version)
      ? [...state.failedVersions, txn.target.version]
      : state.failedVersions;
  return {
    state: { ...state, txn: null, failedVersions },
    audit: { outcome: txn.outcome, reportId: txn.reportId },
  };
};
