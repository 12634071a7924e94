/**
 * The executor's handler table: one handler per planned step kind (house style 3).
 * Each runs the step's effects and returns the state that records them plus what goes into
 * the audit log; the executor persists only after a handler returns.
 */
import type { StepHandler } from './executor.js';
import type { StepKind } from './planner.js';
import { download, switchSlot, verifyRelease, writeSlot } from './steps-install.js';
import { commit, countBoot, finish, probation, report, restart, rollback } from './steps-trial.js';

export { txnDir } from './steps-common.js';

export const stepHandlers: { [K in StepKind]: StepHandler<K> } = {
  verifyRelease,
  download,
  writeSlot,
  switch: switchSlot,
  restart,
  countBoot,
  probation,
  commit,
  rollback,
  report,
  finish,
};
