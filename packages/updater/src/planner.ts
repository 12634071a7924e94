/**
 * The pure planner (house style 3, read → plan → apply). Given the persisted state and
 * what the caller is allowed to do, it returns the remaining steps in order. The executor
 * runs the first step, persists the state it produces, and asks again, so a crash at any
 * point resumes from the last persisted fact. Rollback is a planned step: steps only
 * record facts (a health check failed, a boot limit was passed), the planner decides.
 */
import type { ReportOutcome, SlotName, TxnPhase, UpdaterState } from './state.js';

export type Step =
  | { kind: 'verifyRelease' }
  | { kind: 'download' }
  | { kind: 'writeSlot'; slot: SlotName }
  | { kind: 'switch'; slot: SlotName }
  | { kind: 'restart'; slot: SlotName }
  | { kind: 'countBoot'; boots: number; exceeded: boolean }
  | { kind: 'probation'; slot: SlotName }
  | { kind: 'commit'; slot: SlotName }
  | { kind: 'rollback'; from: SlotName; to: SlotName | null }
  | { kind: 'report'; outcome: ReportOutcome }
  | { kind: 'finish' };

export type StepKind = Step['kind'];

/**
 * - `apply`: everything, network included.
 * - `boot`: daemon start-up; counts one trial boot, then only offline steps.
 * - `probation`: run probation for a trial, then conclude; no network.
 * - `offline`: conclude what is already decided (commit, rollback, report); nothing else.
 */
export type PlanMode = 'apply' | 'boot' | 'probation' | 'offline';

export interface PlanInput {
  state: UpdaterState;
  mode: PlanMode;
  maxBootAttempts: number;
}

const INSTALL_CHAIN: readonly TxnPhase[] = ['planned', 'verified', 'downloaded', 'written'];

export function plan(input: PlanInput): Step[] {
  const { state, mode } = input;
  const txn = state.txn;
  if (!txn) return [];
  const slot = txn.slot;
  const conclude = (outcome: ReportOutcome): Step[] => [{ kind: 'report', outcome }, { kind: 'finish' }];
  const trialTail: Step[] = [{ kind: 'probation', slot }, { kind: 'commit', slot }, ...conclude('committed')];

  switch (txn.phase) {
    case 'planned':
    case 'verified':
    case 'downloaded':
    case 'written': {
      // Pre-switch work needs the network or the downloaded file; only `apply` does it.
      if (mode !== 'apply') return [];
      const all: Step[] = [
        { kind: 'verifyRelease' },
        { kind: 'download' },
        { kind: 'writeSlot', slot },
        { kind: 'switch', slot },
        { kind: 'restart', slot },
        ...trialTail,
      ];
      return all.slice(INSTALL_CHAIN.indexOf(txn.phase));
    }
    case 'switched':
    case 'restarted': {
      if (mode === 'boot') {
        // Design §6 invariant 4: past the allowed boots the trial is rolled back offline.
        const boots = txn.trialBoots + 1;
        const exceeded = boots > input.maxBootAttempts;
        return [{ kind: 'countBoot', boots, exceeded }, ...(exceeded ? rollbackTail(state) : [])];
      }
      if (mode === 'offline') return [];
      return txn.phase === 'switched' && mode === 'apply'
        ? [{ kind: 'restart', slot }, ...trialTail]
        : trialTail;
    }
    case 'healthy':
      return [{ kind: 'commit', slot }, ...conclude('committed')];
    case 'unhealthy':
      return rollbackTail(state);
    case 'committed':
    case 'rolled-back':
    case 'rejected':
    case 'failed':
      return conclude(txn.phase);
    case 'reported':
      return [{ kind: 'finish' }];
  }
}

function rollbackTail(state: UpdaterState): Step[] {
  const txn = state.txn;
  if (!txn) return [];
  const to = txn.from?.slot ?? null;
  // No earlier release (first install): nothing to go back to, so the outcome is `failed`.
  const outcome: ReportOutcome = to === null ? 'failed' : 'rolled-back';
  return [{ kind: 'rollback', from: txn.slot, to }, { kind: 'report', outcome }, { kind: 'finish' }];
}

/** Human summary of a plan, for `status` and dry runs. */
export function describePlan(steps: readonly Step[]): string[] {
  return steps.map((s) => {
    switch (s.kind) {
      case 'writeSlot':
      case 'switch':
      case 'restart':
      case 'probation':
      case 'commit':
        return `${s.kind} slot ${s.slot}`;
      case 'countBoot':
        return `count trial boot ${s.boots}${s.exceeded ? ' (limit passed)' : ''}`;
      case 'rollback':
        return s.to === null ? `rollback: no earlier slot, keep ${s.from}` : `rollback ${s.from} -> ${s.to}`;
      case 'report':
        return `report ${s.outcome}`;
      default:
        return s.kind;
    }
  });
}
