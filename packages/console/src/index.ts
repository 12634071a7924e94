// @clawback/console: the fleet hub (design §7). Named exports only.
export { ALERT_SCHEMA, type AlertKind, alertBody, SIGNATURE_HEADER } from './alerts.js';
export { auditExportBundle, exportAuditLog, readAuditEntries, writeExport } from './audit.js';
export {
  type ApiTokenInfo,
  createApiToken,
  createEnrollmentToken,
  type EnrollmentTokenInfo,
  isRole,
  listApiTokens,
  listEnrollmentTokens,
  type Principal,
  ROLES,
  type Role,
  revokeApiToken,
  revokeEnrollmentTokens,
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
export { DEVICE_SESSION_PREFIX } from './device-auth.js';
export { type RebindResult, type RetireResult, rebindDeviceKey, retireDevice } from './device-lifecycle.js';
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
  SESSION_NONCE_BYTES,
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
export { pruneDeviceAuth, revokeDeviceSessions } from './session-store.js';
export { DEFAULT_DEVICE_SESSION_TTL_SECS, type DeviceSession } from './sessions.js';
export type { Db, Queryable } from './storage/db.js';
export { migrate } from './storage/migrations.js';
export { openPglite } from './storage/pglite.js';
export { openPostgres, redactUrl } from './storage/postgres.js';
