import { ClawbackError, isClawbackError } from '@clawback/core';
import { BundleVerifyErrors } from './errors.js';

/** One named verification step and its outcome, as printed by `bundle verify --json`. */
export interface Check {
  name: string;
  ok: boolean;
  /** The error code when the check failed. */
  code?: string;
  message: string;
}

export function pass(name: string, message: string): Check {
  return { name, ok: true, message };
}

export function failWith(name: string, code: string, message: string): Check {
  return { name, ok: false, code, message };
}

/** Turn a thrown error into a failed check (an unexpected non-Clawback error is reported as INTERNAL). */
export function failFrom(name: string, err: unknown): Check {
  if (isClawbackError(err)) return { name, ok: false, code: err.code, message: err.message };
  return { name, ok: false, code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

/** Run a step that throws a coded error on failure and returns its success message. */
export function runCheck(name: string, step: () => string): Check {
  try {
    return pass(name, step());
  } catch (err) {
    return failFrom(name, err);
  }
}

/**
 * Throw the first failed check as a ClawbackError carrying its own code (so
 * exit codes and tests see e.g. SIGNATURE_INVALID), with every check in details.
 */
export function assertChecks(checks: readonly Check[]): void {
  const failed = checks.filter((c) => !c.ok);
  const first = failed[0];
  if (!first) return;
  throw new ClawbackError(
    first.code ?? BundleVerifyErrors.BUNDLE_VERIFICATION_FAILED,
    failed.length === 1
      ? `${first.name}: ${first.message}`
      : `${failed.length} checks failed; first: ${first.name}: ${first.message}`,
    {
      hint: 'Do not install or publish this bundle. Run `clawback bundle verify --json` to see every check.',
      details: { checks },
    },
  );
}
