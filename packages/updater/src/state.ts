/**
 * The persisted state machine (design §6 invariant 3). `state.json` is only ever replaced
 * with `writeJsonAtomic`, so after a power cut it holds either the state before a step or
 * the state after it; every step is written to be safe to run again from either.
 */
import { ClawbackError, readJsonChecked, writeJsonAtomic } from '@clawback/core';
import { UpdaterErrors } from './errors.js';

export type SlotName = 'a' | 'b';

export function otherSlot(slot: SlotName): SlotName {
  return slot === 'a' ? 'b' : 'a';
}

/** A release as installed in a slot. */
export interface InstalledRelease {
  version: string;
  /** SHA-256 of the bundle file (the TUF target hash). */
  digest: string;
  targetPath: string;
  slot: SlotName;
  /** SHA-256 of the policy file shipped in the bundle, when it has one. */
  policyHash?: string;
}

/** A release candidate taken from signed TUF targets metadata. */
export interface TargetInfo {
  agent: string;
  version: string;
  channel: string;
  targetPath: string;
  length: number;
  sha256: string;
  hardwareIds: string[];
  minUpdaterVersion: string | null;
  rolloutId?: string;
  /** TUF target paths of the detached manifest signature, provenance and Sigstore bundle, when published. */
  attestations?: {
    signature: { path: string; sha256: string } | null;
    provenance: { path: string; sha256: string } | null;
    sigstore?: { path: string; sha256: string } | null;
  };
}

export type ReportOutcome = 'committed' | 'rolled-back' | 'rejected' | 'failed';
export type ReportStage =
  | 'check'
  | 'download'
  | 'verify'
  | 'install'
  | 'switch'
  | 'probation'
  | 'boot'
  | 'commit'
  | 'rollback';

export interface HealthResult {
  check: string;
  ok: boolean;
  measured: number | string | null;
  limit: number | string | null;
  unit: string | null;
  message: string;
}

/** Probation settings taken from the verified manifest (merged with device config at probation). */
export interface ProbationPlan {
  windowSecs: number;
  maxWorkingSetMb: number | null;
  maxCpuPercent: number | null;
  heartbeatIntervalSecs: number | null;
  /** Health checks declared by the manifest, already in device form. */
  checks: import('./config.js').HealthCheckSpec[];
}

/**
 * Where a transaction stands. Each value is the fact established by the last completed step:
 *   planned → verified → downloaded → written → switched → restarted → healthy → committed
 *                                                             ↘ unhealthy → rolled-back
 *   any pre-switch phase → rejected | failed (active slot never touched)
 *   committed | rolled-back | rejected | failed → reported → (txn cleared by finish)
 */
export type TxnPhase =
  | 'planned'
  | 'verified'
  | 'downloaded'
  | 'written'
  | 'switched'
  | 'restarted'
  | 'healthy'
  | 'unhealthy'
  | 'committed'
  | 'rolled-back'
  | 'rejected'
  | 'failed'
  | 'reported';

export interface TxnFailure {
  code: string;
  message: string;
  stage: ReportStage;
}

export interface Transaction {
  id: string;
  /** Fixed when the transaction starts so a crash and rerun never mints a second report. */
  reportId: string;
  startedAt: string;
  kind: 'update' | 'manual-rollback';
  target: TargetInfo;
  from: InstalledRelease | null;
  /** The slot being written / tried (the inactive slot when the transaction began). */
  slot: SlotName;
  phase: TxnPhase;
  /** Boots of the trial slot so far; the switch into it counts as the first. */
  trialBoots: number;
  outcome: ReportOutcome | null;
  failure: TxnFailure | null;
  health: HealthResult[];
  probation: ProbationPlan | null;
  /** SHA-256 of the policy file the target bundle ships, from its verified manifest. */
  policyHash: string | null;
  timings: { downloadMs?: number; verifyMs?: number; probationMs?: number; totalMs?: number };
}

export interface UpdaterState {
  schema: 1;
  /** The known-good release: `current` points at its slot whenever no trial runs. */
  committed: InstalledRelease | null;
  /** Highest version ever committed on this device: nothing at or below it is installed again. */
  floorVersion: string | null;
  /** Versions this device rolled back or rejected; never offered again. */
  failedVersions: string[];
  txn: Transaction | null;
  updatedAt: string;
}

export function initialState(now: Date): UpdaterState {
  return {
    schema: 1,
    committed: null,
    floorVersion: null,
    failedVersions: [],
    txn: null,
    updatedAt: now.toISOString(),
  };
}

export async function loadState(path: string): Promise<UpdaterState> {
  const raw = (await readJsonChecked(path, 'updater state')) as Partial<UpdaterState> | null;
  if (
    typeof raw !== 'object' ||
    raw === null ||
    raw.schema !== 1 ||
    !Array.isArray(raw.failedVersions) ||
    raw.txn === undefined
  ) {
    throw new ClawbackError(UpdaterErrors.UPDATER_STATE_INVALID, `${path} is not an updater state file`, {
      hint: 'The state file is only written atomically; restore it from a backup or re-provision the device.',
    });
  }
  return raw as UpdaterState;
}

export async function saveState(path: string, state: UpdaterState, now: Date): Promise<UpdaterState> {
  const next = { ...state, updatedAt: now.toISOString() };
  await writeJsonAtomic(path, next);
  return next;
}
