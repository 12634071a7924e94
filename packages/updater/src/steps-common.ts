/** Helpers shared by the step handlers (steps-install.ts, steps-trial.ts). */
import { join } from 'node:path';
import { ClawbackError, CoreErrors } from '@clawback/core';
import type { Device } from './device.js';
import type { InstalledRelease, Transaction, UpdaterState } from './state.js';

export function txnOf(state: UpdaterState): Transaction {
  if (!state.txn) throw new ClawbackError(CoreErrors.INTERNAL, 'step planned without a transaction');
  return state.txn;
}

export function withTxn(state: UpdaterState, patch: Partial<Transaction>): UpdaterState {
  return { ...state, txn: { ...txnOf(state), ...patch } };
}

export function txnDir(device: Device, txn: Transaction): string {
  return join(device.layout.downloads, txn.id);
}

export function releaseOf(txn: Transaction): InstalledRelease {
  return {
    version: txn.target.version,
    digest: txn.target.sha256,
    targetPath: txn.target.targetPath,
    slot: txn.slot,
    ...(txn.policyHash ? { policyHash: txn.policyHash } : {}),
  };
}
