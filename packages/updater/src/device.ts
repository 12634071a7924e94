/**
 * A provisioned device root, opened: configuration, device key, audit log, slots, report
 * queue and the I/O seams. Everything below the CLI takes a `Device`, so tests drive the
 * same code with their own root, clock and servers.
 */
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  AuditLog,
  ClawbackError,
  loadSigner,
  type PublicKey,
  parsePublicKey,
  readJsonChecked,
  type Signer,
  withLock,
} from '@clawback/core';
import type { UpdaterConfig } from './config.js';
import type { ConsoleClient } from './console-client.js';
import { UpdaterErrors } from './errors.js';
import type { BundleInstaller, ReleaseVerifier, UpdateSource } from './install.js';
import { StreamingBundleInstaller } from './install.js';
import { type DeviceLayout, deviceLayout } from './layout.js';
import { ReportQueue } from './queue.js';
import { DirectorySlotBackend, type SlotBackend } from './slots.js';

export const UPDATER_VERSION = '0.1.0';

export interface DeviceDeps {
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  progress?: (message: string) => void;
  signal?: AbortSignal;
  /** Defaults to the TUF source built from the configuration. */
  source?: UpdateSource;
  verifier?: ReleaseVerifier;
  installer?: BundleInstaller;
  slots?: SlotBackend;
}

export interface Device {
  layout: DeviceLayout;
  config: UpdaterConfig;
  signer: Signer;
  releaseKeys: PublicKey[];
  audit: AuditLog;
  slots: SlotBackend;
  queue: ReportQueue;
  installer: BundleInstaller;
  now: () => Date;
  env: NodeJS.ProcessEnv;
  progress: (message: string) => void;
  signal: AbortSignal | undefined;
  /** Network seams, built on first use so offline commands never touch them. */
  source(): Promise<UpdateSource>;
  verifier(): Promise<ReleaseVerifier>;
  /** The console client, or null when no console is configured (loaded on first use). */
  consoleClient(): Promise<ConsoleClient | null>;
}

export interface StoredConfig {
  schema: 1;
  config: UpdaterConfig;
}

/**
 * Run `fn` holding the device lock (one updater run per root), then anchor the audit log head
 * with a checkpoint signed by the device key.
 */
export async function underLock<T>(device: Device, fn: () => Promise<T>): Promise<T> {
  return withLock(device.layout.lock, async () => {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      await device.audit.checkpoint().catch(() => undefined);
      throw err;
    }
    await device.audit.checkpoint();
    return result;
  });
}

export async function openDevice(root: string, deps: DeviceDeps = {}): Promise<Device> {
  // Absolute: the restart hook and health checks run with other working directories.
  const layout = deviceLayout(resolve(root));
  if (!(await stat(layout.config).catch(() => null))) {
    throw new ClawbackError(
      UpdaterErrors.DEVICE_NOT_INITIALIZED,
      `${root} is not a provisioned device root`,
      {
        hint: 'Run `clawback-updater init --root DIR --trusted-root root.json --config updater.yaml` first.',
      },
    );
  }
  const stored = (await readJsonChecked(layout.config, 'device configuration')) as StoredConfig;
  if (stored?.schema !== 1 || typeof stored.config !== 'object') {
    throw new ClawbackError(
      UpdaterErrors.UPDATER_STATE_INVALID,
      `${layout.config} is not a device configuration`,
    );
  }
  const config = stored.config;
  const env = deps.env ?? process.env;
  const now = deps.now ?? (() => new Date());
  const signer = await loadSigner(layout.deviceKey, env);
  const releaseKeys = config.releaseKeys.map((k, i) =>
    parsePublicKey(typeof k === 'string' ? k : JSON.stringify(k), `release_keys[${i}]`),
  );
  // Every step is appended (and fsynced) as it happens; the signed checkpoint that anchors the
  // head is written once per command (`closeDevice`), not after each entry, to keep a run's
  // fsyncs and signatures few. Entries of a run killed midway are chained but unanchored until
  // the next command, which `audit verify` reports.
  const audit = await AuditLog.open(layout.auditLog, {
    signer,
    now,
    actor: `device:${config.deviceId}`,
    checkpointEvery: Number.MAX_SAFE_INTEGER,
  });
  let source = deps.source;
  let verifier = deps.verifier;
  let client: ConsoleClient | null | undefined;
  const device: Device = {
    layout,
    config,
    signer,
    releaseKeys,
    audit,
    slots: deps.slots ?? new DirectorySlotBackend(root),
    queue: new ReportQueue(layout.reportQueue),
    installer: deps.installer ?? new StreamingBundleInstaller(),
    now,
    env,
    progress: deps.progress ?? (() => undefined),
    signal: deps.signal,
    async source() {
      if (!source) {
        const { createTufUpdateSource } = await import('./tuf-source.js');
        source = await createTufUpdateSource(device);
      }
      return source;
    },
    async verifier() {
      if (!verifier) {
        const { DefaultReleaseVerifier } = await import('./release-verifier.js');
        verifier = new DefaultReleaseVerifier();
      }
      return verifier;
    },
    async consoleClient() {
      if (client === undefined) {
        const { ConsoleClient } = await import('./console-client.js');
        client = config.console
          ? new ConsoleClient({
              baseUrl: config.console.url,
              deviceId: config.deviceId,
              signer,
              now,
              retries: 2,
              sessionFile: layout.consoleSession,
            })
          : null;
      }
      return client;
    },
  };
  return device;
}
