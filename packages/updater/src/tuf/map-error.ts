/** Map tuf-js / models / fetch errors onto Clawback codes, keeping the original as `cause`. */
import { ClawbackError, isClawbackError } from '@clawback/core';
import { TufClientErrors } from './errors.js';

export function toClientError(err: unknown, what: string): ClawbackError {
  if (isClawbackError(err)) return err;
  const e = err instanceof Error ? err : new Error(String(err));
  const text = `${e.name}: ${e.message}`;
  const fail = (code: string, hint: string) =>
    new ClawbackError(code, `TUF ${what} failed: ${e.message}`, {
      cause: err,
      hint,
      details: { error: e.name },
    });
  // tuf-js wraps snapshot/targets failures in RuntimeError with the inner error's text, so we read the text.
  if (/expired/i.test(text)) {
    return fail(
      TufClientErrors.TUF_METADATA_EXPIRED,
      'The repository must re-sign; see runbooks/expired-metadata.md.',
    );
  }
  if (/less than (the )?current version|Expected version \d+, got/i.test(text)) {
    return fail(
      TufClientErrors.TUF_METADATA_ROLLBACK,
      'The server offered older metadata than this device trusts: do not install; investigate the mirror.',
    );
  }
  if (/LengthOrHashMismatch|hash|length|bytes allowed/i.test(text) && /^download/.test(what)) {
    return fail(
      TufClientErrors.TUF_TARGET_MISMATCH,
      'The downloaded file does not match the signed metadata: it was not installed.',
    );
  }
  if (/DownloadLengthMismatch|Max length|bytes allowed/i.test(text)) {
    return fail(
      TufClientErrors.TUF_METADATA_INVALID,
      'The server sent more data than signed metadata allows.',
    );
  }
  if (/Download|HTTP|ECONN|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|socket|timeout|failed: GET/i.test(text)) {
    return fail(
      TufClientErrors.TUF_FETCH_FAILED,
      'Check the network and the repository URL; the device keeps its current version.',
    );
  }
  return fail(
    TufClientErrors.TUF_METADATA_INVALID,
    'Signed metadata did not verify: nothing was installed. Investigate the repository.',
  );
}
