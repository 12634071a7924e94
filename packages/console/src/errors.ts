import { ClawbackError, defineErrorCodes } from '@clawback/core';

/** Error codes owned by the console. Each maps to one HTTP status in `httpStatusFor`. */
export const ConsoleErrors = defineErrorCodes({
  CONSOLE_BAD_REQUEST: 'input',
  CONSOLE_BODY_TOO_LARGE: 'input',
  CONSOLE_UNSUPPORTED_MEDIA_TYPE: 'input',
  CONSOLE_NOT_FOUND: 'input',
  CONSOLE_METHOD_NOT_ALLOWED: 'usage',
  CONSOLE_UNAUTHENTICATED: 'rejected',
  CONSOLE_FORBIDDEN: 'rejected',
  CONSOLE_DB_FAILED: 'environment',
  CONSOLE_MIGRATION_FAILED: 'environment',
  CONSOLE_DATA_LOCKED: 'state',
  CONSOLE_API_FAILED: 'environment',
  DEVICE_UNKNOWN: 'input',
  DEVICE_PENDING: 'rejected',
  DEVICE_DISABLED: 'rejected',
  DEVICE_KEY_CONFLICT: 'state',
  DEVICE_AUTH_INVALID: 'rejected',
  DEVICE_AUTH_REPLAYED: 'rejected',
  DEVICE_SESSION_INVALID: 'rejected',
  DEVICE_RETIRED: 'rejected',
  REQUEST_STALE: 'rejected',
  ENROLLMENT_TOKEN_INVALID: 'rejected',
  REPORT_REPLAYED: 'state',
  REPORT_INVALID: 'input',
  ROLLOUT_UNKNOWN: 'input',
  ROLLOUT_STATE: 'state',
  ROLLOUT_APPROVAL_REQUIRED: 'rejected',
  ROLLOUT_INVALID: 'input',
  RELEASE_UNKNOWN: 'input',
  RELEASE_EXISTS: 'state',
  RELEASE_INVALID: 'input',
  RELEASE_TUF_UNTRUSTED: 'rejected',
  RELEASE_CHANGE_RECORD_INVALID: 'rejected',
  RELEASE_CHANGE_RECORD_MISMATCH: 'rejected',
  TUF_ROOT_MISSING: 'state',
  WEBHOOK_INVALID: 'input',
  TOKEN_ROLE_INVALID: 'usage',
});

const STATUS: Record<string, number> = {
  CONSOLE_BAD_REQUEST: 400,
  JSON_INVALID: 400,
  ENVELOPE_INVALID: 400,
  PAYLOAD_TYPE_MISMATCH: 400,
  CANONICAL_JSON_INVALID: 400,
  KEY_INVALID: 400,
  REPORT_INVALID: 400,
  ROLLOUT_INVALID: 400,
  RELEASE_INVALID: 400,
  WEBHOOK_INVALID: 400,
  TOKEN_ROLE_INVALID: 400,
  INVALID_INPUT: 400,
  CONSOLE_UNAUTHENTICATED: 401,
  SIGNATURE_INVALID: 401,
  SIGNATURE_THRESHOLD_NOT_MET: 401,
  DEVICE_AUTH_INVALID: 401,
  DEVICE_AUTH_REPLAYED: 401,
  DEVICE_SESSION_INVALID: 401,
  REQUEST_STALE: 401,
  ENROLLMENT_TOKEN_INVALID: 401,
  CONSOLE_FORBIDDEN: 403,
  DEVICE_PENDING: 403,
  DEVICE_DISABLED: 403,
  DEVICE_RETIRED: 403,
  ROLLOUT_APPROVAL_REQUIRED: 403,
  RELEASE_TUF_UNTRUSTED: 422,
  RELEASE_CHANGE_RECORD_INVALID: 422,
  RELEASE_CHANGE_RECORD_MISMATCH: 422,
  CONSOLE_NOT_FOUND: 404,
  DEVICE_UNKNOWN: 404,
  ROLLOUT_UNKNOWN: 404,
  RELEASE_UNKNOWN: 404,
  CONSOLE_METHOD_NOT_ALLOWED: 405,
  DEVICE_KEY_CONFLICT: 409,
  REPORT_REPLAYED: 409,
  ROLLOUT_STATE: 409,
  RELEASE_EXISTS: 409,
  TUF_ROOT_MISSING: 409,
  CONSOLE_BODY_TOO_LARGE: 413,
  CONSOLE_UNSUPPORTED_MEDIA_TYPE: 415,
};

/** The one mapping from an error to an HTTP status. Unknown errors are 500. */
export function httpStatusFor(err: unknown): number {
  if (err instanceof ClawbackError) return STATUS[err.code] ?? (err.kind === 'internal' ? 500 : 503);
  return 500;
}

export function badRequest(message: string, hint: string, problems?: string[]): ClawbackError {
  return new ClawbackError(ConsoleErrors.CONSOLE_BAD_REQUEST, message, {
    hint,
    ...(problems ? { details: { problems } } : {}),
  });
}
