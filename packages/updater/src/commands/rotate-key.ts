/**
 * `rotate-key`: replace the device key (protocol "Device key rotation", design §4). The new
 * key is written beside the old one first; the console learns it from a statement signed by
 * the old key; only then does it replace the old key on disk. A run interrupted after the
 * console switched (a lost response, a power cut) is finished by the next run, which finds
 * that the console already accepts the new key.
 */
import { rename, rm } from 'node:fs/promises';
import {
  AuditLog,
  ClawbackError,
  canonicalJsonBytes,
  encodePrivateKeyFile,
  encodePublicKeyFile,
  fsyncDir,
  generateKeyPair,
  isClawbackError,
  isoSeconds,
  loadKeyPair,
  pathExists,
  publicKeyJson,
  signDsse,
  signerFromKeyPair,
  withLock,
  writeFileAtomic,
} from '@clawback/core';
import type { Device } from '../device.js';
import { UpdaterErrors } from '../errors.js';

export const KEY_ROTATION_PAYLOAD_TYPE = 'application/vnd.clawback.key-rotation+json';

export interface RotateKeyResult {
  deviceId: string;
  oldKeyId: string;
  newKeyId: string;
  /** True when an earlier, interrupted rotation was finished. */
  resumed: boolean;
}

export async function rotateDeviceKey(device: Device): Promise<RotateKeyResult> {
  const client = await device.consoleClient();
  if (!client) {
    throw new ClawbackError(UpdaterErrors.UPDATER_CONFIG_INVALID, 'no console configured', {
      hint: 'The console must learn the new key; configure `console: {url: …}` first.',
    });
  }
  const nextPath = `${device.layout.deviceKey}.next`;
  return withLock(device.layout.lock, async () => {
    const resumed = await pathExists(nextPath);
    const next = resumed ? await loadKeyPair(nextPath, device.env) : generateKeyPair();
    if (!resumed) await writeFileAtomic(nextPath, encodePrivateKeyFile(next), { mode: 0o600 });
    const nextSigner = signerFromKeyPair(next);
    const payload = {
      deviceId: device.config.deviceId,
      newPublicKey: publicKeyJson(next.publicKey.bytes),
      ts: isoSeconds(device.now()),
    };
    try {
      await client.rotateKey(
        await signDsse(KEY_ROTATION_PAYLOAD_TYPE, canonicalJsonBytes(payload), [device.signer]),
      );
    } catch (err) {
      // Refused with the old key: did an earlier attempt (a retried POST whose response was
      // lost, or an interrupted run) already switch the console over to the new key?
      if (!(isClawbackError(err, UpdaterErrors.CONSOLE_REFUSED) && (await client.accepts(nextSigner)))) {
        throw err;
      }
    }
    // The console accepts only the new key now: make it the device key (atomic rename).
    await writeFileAtomic(device.layout.devicePublicKey, encodePublicKeyFile(next.publicKey));
    await rename(nextPath, device.layout.deviceKey);
    await fsyncDir(device.layout.root);
    await rm(nextPath, { force: true });
    // Record it in the audit log and anchor the head with the new key, the only one `audit verify` trusts.
    const audit = await AuditLog.open(device.layout.auditLog, {
      signer: nextSigner,
      now: device.now,
      actor: `device:${device.config.deviceId}`,
    });
    await audit.append('updater.key.rotated', {
      oldKeyId: device.signer.keyid,
      newKeyId: next.publicKey.keyid,
      resumed,
    });
    return {
      deviceId: device.config.deviceId,
      oldKeyId: device.signer.keyid,
      newKeyId: next.publicKey.keyid,
      resumed,
    };
  });
}
