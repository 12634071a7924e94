import { join } from 'node:path';

/** The names the updater uses under a device root (design §6). One place, so docs and code agree. */
export interface DeviceLayout {
  root: string;
  config: string;
  deviceKey: string;
  devicePublicKey: string;
  tufDir: string;
  slotsDir: string;
  current: string;
  state: string;
  lock: string;
  downloads: string;
  reportQueue: string;
  consoleState: string;
  /** The console device session token (a secret, mode 0600). */
  consoleSession: string;
  auditLog: string;
}

export function deviceLayout(root: string): DeviceLayout {
  return {
    root,
    config: join(root, 'config.json'),
    deviceKey: join(root, 'device-key.json'),
    devicePublicKey: join(root, 'device-key.pub.json'),
    tufDir: join(root, 'tuf'),
    slotsDir: join(root, 'slots'),
    current: join(root, 'current'),
    state: join(root, 'state.json'),
    lock: join(root, 'updater.lock'),
    downloads: join(root, 'downloads'),
    reportQueue: join(root, 'reports', 'queue'),
    consoleState: join(root, 'console.json'),
    consoleSession: join(root, 'console-session.json'),
    auditLog: join(root, 'audit', 'audit.log'),
  };
}
