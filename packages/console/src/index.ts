// @clawback/console: the fleet hub (design §7). Named exports only.
export { ALERT_SCHEMA, type AlertKind, alertBody, SIGNATURE_HEADER } from './alerts.js';
export { exportAuditLog, readAuditEntries } from './audit.js';
export {
  createApiToken,
  createEnrollmentToken,
  isRole,
  type Principal,
  ROLES,
  type Role,
  revokeApiToken,
} from './auth.js';
export {
  type ChangeRecordCheck,
  type ChangeRecordVerifier,
  changeRecordVerifier,
  noChangeRecordKeys,
  type ReleaseRef,
} from './change-records.js';
export { CONSOLE_VERSION, consoleProgram } from './cli.js';
export { callApi } from './cli-api.js';
export { type ConsoleOptions, ConsoleServer, openConsole } from './console.js';
export { ConsoleErrors, httpStatusFor } from './errors.js';
export {
  type DeviceAuthHeader,
  deviceRequestMessage,
  HEARTBEAT_PAYLOAD_TYPE,
  KEY_ROTATION_PAYLOAD_TYPE,
  MAX_BODY_BYTES,
  parseDeviceAuthHeader,
  REPORT_PAYLOAD_TYPE,
  REPORT_SCHEMA,
  REQUEST_MAX_SKEW_SECS,
  REQUEST_PAYLOAD_TYPE,
  signDeviceRequest,
} from './protocol.js';
export {
  cohortKey,
  DEFAULT_STAGES,
  type PlanDevice,
  type PlannedStage,
  type PlanRelease,
  planRollout,
  type RolloutPlan,
  type Selector,
  type StageSpec,
} from './rollout-plan.js';
export type { Db, Queryable } from './storage/db.js';
export { migrate } from './storage/migrations.js';
export { openPglite } from './storage/pglite.js';
export { openPostgres, redactUrl } from './storage/postgres.js';
