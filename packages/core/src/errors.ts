/**
 * One error class for the whole project (house style 4). Every error carries a
 * stable string `code` that tests assert and programs branch on, a message that
 * says what failed, and a `hint` that says what to do next.
 *
 * Each code belongs to a kind, and the kind decides the process exit code in
 * exactly one place (`exitCodeFor`), so every CLI documents the same table.
 */

export type ErrorKind = 'rejected' | 'usage' | 'input' | 'environment' | 'state' | 'internal';

/** Exit codes shared by every Clawback command. */
export const ExitCode = {
  OK: 0,
  /** A check ran and said no: bad signature, not approved, policy miss, health failed. */
  REJECTED: 1,
  /** The command line itself is wrong. */
  USAGE: 2,
  /** An input file or value is missing or invalid. */
  INPUT: 3,
  /** The environment failed: network, disk, permissions, a missing key or variable. */
  ENVIRONMENT: 4,
  /** The request conflicts with current state: already published, lock held, nothing to roll back. */
  STATE: 5,
  /** A bug. Rerun with CLAWBACK_DEBUG=1 and report it. */
  INTERNAL: 70,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

const kindExit: Record<ErrorKind, ExitCodeValue> = {
  rejected: ExitCode.REJECTED,
  usage: ExitCode.USAGE,
  input: ExitCode.INPUT,
  environment: ExitCode.ENVIRONMENT,
  state: ExitCode.STATE,
  internal: ExitCode.INTERNAL,
};

const registry = new Map<string, ErrorKind>();

/**
 * Declare a package's error codes and their kinds. Returns an object whose
 * values are the code strings, so call sites are typo-checked:
 *   export const BundleErrors = defineErrorCodes({ PATH_TRAVERSAL: 'rejected' });
 *   throw new ClawbackError(BundleErrors.PATH_TRAVERSAL, '...');
 */
export function defineErrorCodes<const T extends Record<string, ErrorKind>>(
  codes: T,
): { readonly [K in keyof T]: K } {
  const out: Record<string, string> = {};
  for (const [code, kind] of Object.entries(codes)) {
    const existing = registry.get(code);
    if (existing !== undefined && existing !== kind) {
      throw new Error(`error code ${code} registered twice with different kinds (${existing}, ${kind})`);
    }
    registry.set(code, kind);
    out[code] = code;
  }
  return out as { readonly [K in keyof T]: K };
}

export function errorKindOf(code: string): ErrorKind {
  return registry.get(code) ?? 'internal';
}

export interface ClawbackErrorOptions {
  /** What the user should do next. */
  hint?: string;
  cause?: unknown;
  /** Structured facts for `--json` output and reports (never secrets). */
  details?: Record<string, unknown>;
}

export class ClawbackError extends Error {
  override readonly name = 'ClawbackError';
  readonly code: string;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: string, message: string, options: ClawbackErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get kind(): ErrorKind {
    return errorKindOf(this.code);
  }

  toJSON(): { code: string; message: string; hint?: string; details?: Record<string, unknown> } {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export function isClawbackError(err: unknown, code?: string): err is ClawbackError {
  return err instanceof ClawbackError && (code === undefined || err.code === code);
}

/** The single mapping from an error to a process exit code. */
export function exitCodeFor(err: unknown): ExitCodeValue {
  if (err instanceof ClawbackError) return kindExit[err.kind];
  return ExitCode.INTERNAL;
}

/** Codes owned by core. */
export const CoreErrors = defineErrorCodes({
  USAGE: 'usage',
  INVALID_INPUT: 'input',
  FILE_NOT_FOUND: 'input',
  FILE_READ_FAILED: 'environment',
  FILE_WRITE_FAILED: 'environment',
  JSON_INVALID: 'input',
  KEY_INVALID: 'input',
  KEY_NOT_FOUND: 'input',
  KEY_PERMISSIONS: 'environment',
  ENV_MISSING: 'environment',
  SIGNATURE_INVALID: 'rejected',
  SIGNATURE_THRESHOLD_NOT_MET: 'rejected',
  ENVELOPE_INVALID: 'rejected',
  PAYLOAD_TYPE_MISMATCH: 'rejected',
  STATEMENT_INVALID: 'rejected',
  CANONICAL_JSON_INVALID: 'input',
  LOCK_HELD: 'state',
  AUDIT_APPEND_FAILED: 'environment',
  AUDIT_CHAIN_BROKEN: 'rejected',
  AUDIT_LOG_INVALID: 'input',
  AUDIT_LOG_TAMPERED: 'rejected',
  DURATION_INVALID: 'usage',
  INTERNAL: 'internal',
});
