/**
 * The restart hook: how the updater tells the device's daemon to (re)start the agent from
 * the active slot, after a switch and after a rollback. It receives the slot and the
 * reason in its environment; its output is kept short in the audit log.
 */
import { execFile } from 'node:child_process';
import type { Device } from './device.js';
import type { SlotName } from './state.js';

export interface HookResult {
  ok: boolean;
  message: string;
}

export function runRestartHook(
  device: Device,
  slot: SlotName,
  reason: 'trial' | 'rollback',
): Promise<HookResult> {
  const hook = device.config.restartHook;
  if (!hook) return Promise.resolve({ ok: true, message: 'no restart hook configured' });
  const [file, ...args] = hook;
  return new Promise((resolve) => {
    execFile(
      file as string,
      args,
      {
        cwd: device.layout.root,
        timeout: 120_000,
        killSignal: 'SIGKILL',
        env: {
          ...device.env,
          CLAWBACK_ROOT: device.layout.root,
          CLAWBACK_SLOT: slot,
          CLAWBACK_SLOT_DIR: device.slots.slotDir(slot),
          CLAWBACK_CURRENT: device.layout.current,
          CLAWBACK_RESTART_REASON: reason,
        },
      },
      (err, stdout, stderr) => {
        const tail = `${String(stdout)}${String(stderr)}`.trim().slice(-500);
        if (err)
          resolve({
            ok: false,
            message: `restart hook failed: ${err.message.split('\n')[0]}${tail ? ` (${tail})` : ''}`,
          });
        else resolve({ ok: true, message: tail || 'restart hook exited 0' });
      },
    );
  });
}
