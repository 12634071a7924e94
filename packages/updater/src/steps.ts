/**
 * Step handlers, one per planned step kind. Each runs the step's effects and returns the
 * state that records them plus what goes into the audit log. Every handler is safe to run
 * again after a crash at any point inside it (the executor persists only after it returns).
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ClawbackError, CoreErrors, fsyncDir, isClawbackError, writeFileAtomic } from '@clawback/core';
import semver from 'semver';
import type { Device } from './device.js';
import { UPDATER_VERSION } from './device.js';
import { streamTarget, type TargetStreamStats } from './download.js';
import { UpdaterErrors } from './errors.js';
import { crashPoint, type StepHandler } from './executor.js';
import { runProbation } from './health.js';
import { probationPlanOf } from './manifest-health.js';
import type { StepKind } from './planner.js';
import { buildReport, signReport } from './report.js';
import { runRestartHook } from './restart-hook.js';
import type { InstalledRelease, Transaction, UpdaterState } from './state.js';

function txnOf(state: UpdaterState): Transaction {
  if (!state.txn) throw new ClawbackError(CoreErrors.INTERNAL, 'step planned without a transaction');
  return state.txn;
}

function withTxn(state: UpdaterState, patch: Partial<Transaction>): UpdaterState {
  return { ...state, txn: { ...txnOf(state), ...patch } };
}

export function txnDir(device: Device, txn: Transaction): string {
  return join(device.layout.downloads, txn.id);
}

function releaseOf(txn: Transaction): InstalledRelease {
  return {
    version: txn.target.version,
    digest: txn.target.sha256,
    targetPath: txn.target.targetPath,
    slot: txn.slot,
    ...(txn.policyHash ? { policyHash: txn.policyHash } : {}),
  };
}

const verifyRelease: StepHandler<'verifyRelease'> = async (device, state) => {
  const txn = txnOf(state);
  const started = Date.now();
  const source = await device.source();
  const sigPath = txn.target.attestations?.signature?.path;
  if (!sigPath) {
    throw new ClawbackError(
      CoreErrors.SIGNATURE_INVALID,
      `${txn.target.targetPath} has no published manifest signature`,
      {
        hint: 'Publish the release with its bundle.sig.json (clawback release add).',
      },
    );
  }
  const signature = await source.fetchTarget(sigPath);
  const provPath = txn.target.attestations?.provenance?.path;
  const provenance = provPath ? await source.fetchTarget(provPath) : null;
  const verifier = await device.verifier();
  const verified = verifier.verify({
    target: txn.target,
    signature,
    provenance,
    trust: {
      releaseKeys: device.releaseKeys,
      threshold: device.config.threshold,
      provenance: device.config.provenance,
      hardwareId: device.config.hardwareId,
      updaterVersion: UPDATER_VERSION,
    },
    now: device.now(),
  });
  const dir = txnDir(device, txn);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'manifest.json'), verified.manifestBytes);
  const probation = probationPlanOf(verified.manifest, device.config);
  return {
    state: withTxn(state, {
      phase: 'verified',
      probation,
      policyHash: verified.manifest.policy?.sha256 ?? null,
      timings: { ...txn.timings, verifyMs: Date.now() - started },
    }),
    audit: { checks: verified.checks, manifestVersion: verified.manifest.version },
  };
};

/**
 * One pass: the network stream (length-capped, hashed, recorded for resume) feeds the safe
 * extractor writing the inactive slot, which checks every file against the signed manifest.
 * The stream ends only after the signed SHA-256 matched (design §6 invariant 2).
 */
const download: StepHandler<'download'> = async (device, state) => {
  const txn = txnOf(state);
  const started = Date.now();
  const url = await (await device.source()).targetUrl(txn.target);
  const dir = txnDir(device, txn);
  const manifestBytes = new Uint8Array(await readFile(join(dir, 'manifest.json')));
  const slotDir = await device.slots.prepare(txn.slot);
  const stats: TargetStreamStats = { bytes: 0, resumedFrom: 0, attempts: 0 };
  let crashed = false;
  const source = streamTarget(
    {
      url,
      part: join(dir, 'bundle.part'),
      length: txn.target.length,
      sha256: txn.target.sha256,
      retries: device.config.download.retries,
      timeoutMs: device.config.download.timeoutSecs * 1000,
      ...(device.signal ? { signal: device.signal } : {}),
      onProgress: (n, total) =>
        device.progress(`download: ${Math.floor((n / total) * 100)}% of ${total} bytes`),
      onChunk: (n) => {
        if (!crashed && n >= txn.target.length / 2) {
          crashed = true;
          crashPoint(device.env, 'mid:download');
        }
      },
    },
    stats,
  );
  let result: Awaited<ReturnType<typeof device.installer.install>>;
  try {
    result = await device.installer.install({
      source: detached(source),
      slotDir,
      manifestBytes,
      ...(device.signal ? { signal: device.signal } : {}),
    });
  } catch (err) {
    // The extractor may trip over bytes that are simply not the signed target (a mirror
    // serving other content): finish the stream, bounded by the signed length, so the
    // refusal names that root cause (TARGET_HASH_MISMATCH) when it is the cause.
    if (isClawbackError(err) && err.code.startsWith('BUNDLE_')) {
      for await (const _ of source) {
        // draining checks length and hash
      }
    }
    throw err;
  } finally {
    await source.return(undefined);
  }
  return {
    state: withTxn(state, {
      phase: 'downloaded',
      timings: { ...txn.timings, downloadMs: (txn.timings.downloadMs ?? 0) + (Date.now() - started) },
    }),
    audit: {
      bytes: stats.bytes,
      resumedFrom: stats.resumedFrom,
      attempts: stats.attempts,
      sha256: txn.target.sha256,
      slot: txn.slot,
      files: result.fileCount,
      payloadBytes: result.payloadBytes,
    },
  };
};

/** An iterable over `gen` whose early exit (a consumer's `break`) leaves `gen` open. */
function detached<T>(gen: AsyncGenerator<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => ({
      next: () => gen.next(),
      return: async () => ({ done: true, value: undefined }),
    }),
  };
}

/** Make the verified slot durable, then write the completion marker that makes it eligible. */
const writeSlot: StepHandler<'writeSlot'> = async (device, state, step) => {
  const txn = txnOf(state);
  const started = Date.now();
  const dirs = await fsyncTree(device.slots.slotDir(step.slot));
  crashPoint(device.env, 'mid:writeSlot');
  // Invariant 2: the marker is written only after every byte was verified and is on disk.
  await device.slots.markComplete(step.slot, {
    complete: true,
    release: releaseOf(txn),
    writtenAt: device.now().toISOString(),
  });
  await rm(join(txnDir(device, txn), 'bundle.part'), { force: true });
  return {
    state: withTxn(state, {
      phase: 'written',
      timings: { ...txn.timings, verifyMs: (txn.timings.verifyMs ?? 0) + (Date.now() - started) },
    }),
    audit: { slot: step.slot, directoriesSynced: dirs },
  };
};

/** fsync every directory of a tree (the extractor already synced each file). */
async function fsyncTree(root: string): Promise<number> {
  let n = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(dir, e.name));
    }
    await fsyncDir(dir);
    n += 1;
  };
  await walk(root);
  return n;
}

const switchSlot: StepHandler<'switch'> = async (device, state, step) => {
  const meta = await device.slots.readMeta(step.slot);
  // Invariant 1: only a slot with a completion marker for this very bundle becomes current.
  if (!meta || meta.release.digest !== txnOf(state).target.sha256) {
    throw new ClawbackError(
      UpdaterErrors.UPDATER_STATE_INVALID,
      `slot ${step.slot} is not a complete install of the target`,
    );
  }
  await device.slots.activate(step.slot, () => crashPoint(device.env, 'mid:switch'));
  return { state: withTxn(state, { phase: 'switched', trialBoots: 1 }), audit: { active: step.slot } };
};

const restart: StepHandler<'restart'> = async (device, state, step) => {
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

const countBoot: StepHandler<'countBoot'> = async (device, state, step) => {
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

const probation: StepHandler<'probation'> = async (device, state, step) => {
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

const commit: StepHandler<'commit'> = async (_device, state) => {
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

const rollback: StepHandler<'rollback'> = async (device, state, step) => {
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

const report: StepHandler<'report'> = async (device, state, step) => {
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

const finish: StepHandler<'finish'> = async (device, state) => {
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

export const stepHandlers: { [K in StepKind]: StepHandler<K> } = {
  verifyRelease,
  download,
  writeSlot,
  switch: switchSlot,
  restart,
  countBoot,
  probation,
  commit,
  rollback,
  report,
  finish,
};
