/** `clawback-updater init`: provision a device root (design §6 layout). */
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import {
  AuditLog,
  ClawbackError,
  CoreErrors,
  encodePrivateKeyFile,
  encodePublicKeyFile,
  generateKeyPair,
  parsePublicKey,
  pathExists,
  publicKeyJson,
  readTextChecked,
  signerFromKeyPair,
  writeFileAtomic,
  writeJsonAtomic,
} from '@clawback/core';
import { parse as parseYaml } from 'yaml';
import { parseUpdaterConfig, type UpdaterConfig } from '../config.js';
import type { StoredConfig } from '../device.js';
import { UpdaterErrors } from '../errors.js';
import { deviceLayout } from '../layout.js';
import { DirectorySlotBackend } from '../slots.js';
import { initialState } from '../state.js';

export interface InitOptions {
  root: string;
  trustedRoot: string;
  config: string;
  now?: Date;
  /** Injectable randomness for the device key (tests). */
  random?: (n: number) => Uint8Array;
}

export interface InitResult {
  root: string;
  deviceId: string;
  deviceKeyId: string;
  agent: string;
  channel: string;
  releaseKeyIds: string[];
}

function checkTufRoot(text: string, path: string): void {
  let doc: { signed?: { _type?: unknown; version?: unknown }; signatures?: unknown };
  try {
    doc = JSON.parse(text);
  } catch (cause) {
    throw new ClawbackError(CoreErrors.JSON_INVALID, `${path} is not JSON`, { cause });
  }
  if (
    doc?.signed?._type !== 'root' ||
    !Number.isInteger(doc.signed.version) ||
    !Array.isArray(doc.signatures)
  ) {
    throw new ClawbackError(UpdaterErrors.UPDATER_CONFIG_INVALID, `${path} is not TUF root metadata`, {
      hint: 'Pass the root.json of the repository (metadata/1.root.json or root.json from `clawback repo init`).',
    });
  }
}

async function loadYamlConfig(path: string): Promise<UpdaterConfig> {
  const text = await readTextChecked(path, 'updater config');
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (cause) {
    throw new ClawbackError(
      UpdaterErrors.UPDATER_CONFIG_INVALID,
      `${path} is not valid YAML: ${(cause as Error).message}`,
      { cause },
    );
  }
  const config = parseUpdaterConfig(doc, path);
  // Key files are read now and stored inline, so the device never depends on paths outside its root.
  const keys = await Promise.all(
    config.releaseKeys.map(async (k, i) => {
      const text =
        typeof k === 'string'
          ? await readFile(resolve(dirname(path), k), 'utf8').catch((cause) => {
              throw new ClawbackError(CoreErrors.KEY_NOT_FOUND, `release_keys[${i}]: cannot read ${k}`, {
                cause,
              });
            })
          : JSON.stringify(k);
      return parsePublicKey(text, `release_keys[${i}]`);
    }),
  );
  return { ...config, releaseKeys: keys.map((k) => publicKeyJson(k.bytes)) };
}

export async function initDevice(o: InitOptions): Promise<InitResult> {
  const root = resolve(o.root);
  const layout = deviceLayout(root);
  if (await pathExists(layout.config)) {
    throw new ClawbackError(UpdaterErrors.DEVICE_ALREADY_INITIALIZED, `${root} is already provisioned`, {
      hint: 'A device root is provisioned once; to start over, remove the directory (its key and audit log go with it).',
    });
  }
  const config = await loadYamlConfig(o.config);
  const rootText = await readTextChecked(o.trustedRoot, 'trusted root');
  checkTufRoot(rootText, o.trustedRoot);
  const now = o.now ?? new Date();

  await mkdir(root, { recursive: true, mode: 0o750 });
  await mkdir(layout.tufDir, { recursive: true });
  await writeFileAtomic(`${layout.tufDir}/root.json`, rootText);
  const pair = generateKeyPair(o.random);
  // The device key never leaves the device: owner-only, written atomically.
  await writeFileAtomic(layout.deviceKey, encodePrivateKeyFile(pair), { mode: 0o600 });
  await chmod(layout.deviceKey, 0o600);
  await writeFileAtomic(layout.devicePublicKey, encodePublicKeyFile(pair.publicKey));
  await new DirectorySlotBackend(root).init();
  await mkdir(layout.downloads, { recursive: true });
  await mkdir(layout.reportQueue, { recursive: true });
  await writeJsonAtomic(layout.state, initialState(now));
  const audit = await AuditLog.open(layout.auditLog, {
    signer: signerFromKeyPair(pair),
    now: () => now,
    actor: `device:${config.deviceId}`,
  });
  await audit.append('updater.init', {
    deviceId: config.deviceId,
    deviceKeyId: pair.publicKey.keyid,
    agent: config.agent,
    channel: config.channel,
    hardwareId: config.hardwareId,
    releaseKeyIds: config.releaseKeys.map((k) => parsePublicKey(JSON.stringify(k), 'release key').keyid),
  });
  // Written last: its presence is what makes the root "provisioned".
  const stored: StoredConfig = { schema: 1, config };
  await writeJsonAtomic(layout.config, stored);
  return {
    root,
    deviceId: config.deviceId,
    deviceKeyId: pair.publicKey.keyid,
    agent: config.agent,
    channel: config.channel,
    releaseKeyIds: config.releaseKeys.map((k) => parsePublicKey(JSON.stringify(k), 'release key').keyid),
  };
}
