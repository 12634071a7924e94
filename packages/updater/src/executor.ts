/**
 * The one executor (house style 3): ask the planner for the next step, run it from the
 * handler table, record it in the audit log, persist the state atomically, repeat. A
 * failure a step can explain (a refusal, a full disk) becomes a recorded fact for the
 * planner; anything else stops the run with the state as it was, to be resumed.
 *
 * `CLAWBACK_CRASH_AT=<point>` kills the process with SIGKILL at that point; the crash
 * suite uses it to prove every persisted step can be interrupted (test/crash/).
 */
import { type ClawbackError, isClawbackError } from '@clawback/core';
import type { Device } from './device.js';
import { type PlanMode, plan, type Step, type StepKind } from './planner.js';
import { loadState, type ReportStage, saveState, type Transaction, type UpdaterState } from './state.js';
import { stepHandlers } from './steps.js';

/** Points where a crash can be injected, in the order an update passes them. */
export const STEP_CRASH_PHASES = ['before', 'applied', 'audited', 'after'] as const;
export const MID_STEP_CRASH_POINTS = ['mid:download', 'mid:writeSlot', 'mid:switch', 'mid:flush'] as const;

export function crashPoint(env: NodeJS.ProcessEnv, point: string): void {
  if (env.CLAWBACK_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

export type StepHandler<K extends StepKind = StepKind> = (
  device: Device,
  state: UpdaterState,
  step: Extract<Step, { kind: K }>,
) => Promise<{ state: UpdaterState; audit: Record<string, unknown> }>;

const STAGE_OF: Partial<Record<StepKind, ReportStage>> = {
  verifyRelease: 'verify',
  download: 'download',
  writeSlot: 'install',
  switch: 'switch',
};

/** Refusals raised while the bundle streams into the slot are about its contents: stage `install`. */
function stageFor(kind: StepKind, code: string): ReportStage | undefined {
  if (kind === 'download' && code.startsWith('BUNDLE_')) return 'install';
  return STAGE_OF[kind];
}

/** Errors that conclude the transaction (reported) instead of leaving it to resume. */
function concludes(err: unknown): err is ClawbackError {
  return isClawbackError(err) && (err.kind === 'rejected' || err.code === 'DISK_FULL');
}

export interface ExecuteResult {
  state: UpdaterState;
  steps: Step[];
  /** The transaction as it stood before it was cleared (outcome, failure, health). */
  lastTxn: Transaction | null;
}

export async function execute(device: Device, initialMode: PlanMode): Promise<ExecuteResult> {
  let state = await loadState(device.layout.state);
  let mode = initialMode;
  const done: Step[] = [];
  let lastTxn = state.txn;
  for (let guard = 0; guard < 64; guard++) {
    const step = plan({ state, mode, maxBootAttempts: device.config.health.maxBootAttempts })[0];
    if (!step) break;
    crashPoint(device.env, `before:${step.kind}`);
    device.progress(`step: ${step.kind}`);
    let next: UpdaterState;
    let audit: Record<string, unknown>;
    try {
      const handler = stepHandlers[step.kind] as StepHandler;
      ({ state: next, audit } = await handler(device, state, step));
    } catch (err) {
      const stage = concludes(err) ? stageFor(step.kind, err.code) : undefined;
      if (!stage || !state.txn || !concludes(err)) throw err;
      // A refusal before the switch: record it; the planner reports it and cleans up.
      const outcome = err.kind === 'rejected' ? 'rejected' : 'failed';
      next = {
        ...state,
        txn: {
          ...state.txn,
          phase: outcome,
          outcome,
          failure: { code: err.code, message: err.message, stage },
        },
      };
      audit = { refused: true, code: err.code, message: err.message };
    }
    crashPoint(device.env, `applied:${step.kind}`);
    await device.audit.append(`updater.${step.kind}`, {
      txn: state.txn?.id ?? null,
      version: state.txn?.target.version ?? null,
      ...audit,
    });
    crashPoint(device.env, `audited:${step.kind}`);
    state = await saveState(device.layout.state, next, device.now());
    lastTxn = state.txn ?? lastTxn;
    crashPoint(device.env, `after:${step.kind}`);
    done.push(step);
    if (mode === 'boot' && step.kind === 'countBoot') mode = 'offline';
  }
  return { state, steps: done, lastTxn };
}
