// Device updater. The TUF client lives in ./tuf (its own barrel); the rest is re-exported below.

export * from './commands/audit.js';
export * from './commands/device-ops.js';
export * from './commands/init.js';
export * from './commands/reports.js';
export * from './commands/rotate-key.js';
export * from './commands/update.js';
export * from './config.js';
export * from './console-client.js';
export * from './device.js';
export * from './download.js';
export * from './errors.js';
export {
  crashPoint,
  type ExecuteResult,
  execute,
  MID_STEP_CRASH_POINTS,
  STEP_CRASH_PHASES,
} from './executor.js';
export * from './health.js';
export * from './install.js';
export * from './layout.js';
export * from './manifest-health.js';
export * from './planner.js';
export * from './proc.js';
export { DEFAULT_ROOT, EXIT_UPDATE_AVAILABLE, updaterProgram } from './program.js';
export * from './queue.js';
export * from './release-verifier.js';
export * from './report.js';
export * from './select.js';
export * from './slots.js';
export * from './state.js';
export * from './tuf/index.js';
export { candidateOf, createTufUpdateSource } from './tuf-source.js';
