/**
 * Steps before and at the switch: verify the release, stream it into the inactive slot, mark
 * the slot complete, switch. Each is safe to run again after a crash at any point inside it.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ClawbackError, CoreErrors, fsyncDir, isClawbackError, writeFileAtomic } from '@clawback/core';
import { UPDATER_VERSION } from './device.js';
import type { TargetStreamStats } from './download.js';
import { UpdaterErrors } from './errors.js';
import { crashPoint, type StepHandler } from './executor.js';
import { probationPlanOf } from './manifest-health.js';
import { releaseOf, txnDir, txnOf, withTxn } from './steps-common.js';

/** The TUF target path of the Sigstore trusted root (docs/tuf-repository.md). */
export const SIGSTORE_TRUSTED_ROOT = 'sigstore/trusted_root.json';

export const verifyRelease: StepHandler<'verifyRelease'> = async (device, state) => {
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
  const provPath = txn.target.attestations?.provenance?.path;
  const sigstorePath = txn.target.attestations?.sigstore?.path;
  // Fetched together (each through TUF: signed length and hashes), while the verifier loads.
  // Design §4: the Sigstore trust root is itself a TUF target, so it rotates like any release.
  const [signature, provenance, sigstoreBundle, trustedRoot, verifier] = await Promise.all([
    source.fetchTarget(sigPath),
    provPath ? source.fetchTarget(provPath) : null,
    sigstorePath ? source.fetchTarget(sigstorePath) : null,
    sigstorePath ? source.fetchTarget(SIGSTORE_TRUSTED_ROOT) : null,
    device.verifier(),
  ]);
  const sigstore = sigstoreBundle && trustedRoot ? { bundle: sigstoreBundle, trustedRoot } : null;
  const verified = verifier.verify({
    target: txn.target,
    signature,
    provenance,
    sigstore,
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
export const download: StepHandler<'download'> = async (device, state) => {
  const txn = txnOf(state);
  const started = Date.now();
  const url = await (await device.source()).targetUrl(txn.target);
  const dir = txnDir(device, txn);
  const manifestBytes = new Uint8Array(await readFile(join(dir, 'manifest.json')));
  const slotDir = await device.slots.prepare(txn.slot);
  const { streamTarget } = await import('./download.js');
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
export const writeSlot: StepHandler<'writeSlot'> = async (device, state, step) => {
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

export const switchSlot: StepHandler<'switch'> = async (device, state, step) => {
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
