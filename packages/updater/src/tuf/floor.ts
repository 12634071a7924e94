/**
 * The time floor (design §4): expiry is judged against max(clock, floor), where the floor is
 * the newest signing time found in metadata this device has already verified. A device whose
 * clock resets to 1970 therefore still refuses metadata that expired before the newest
 * verified signing time (no freeze), and accepts fresh metadata (no lock-out).
 *
 * Only signed times move the floor, never the local clock: one bogus clock reading far in the
 * future would otherwise lock the device out for good. The floor file is written atomically
 * and only ever moves forward.
 */
import { ClawbackError, isoSeconds, pathExists, readJsonChecked, writeJsonAtomic } from '@clawback/core';
import { TufClientErrors } from './errors.js';

export const TIME_FLOOR_SCHEMA = 'clawback.time-floor/v1';

export interface TimeFloorFile {
  schema: typeof TIME_FLOOR_SCHEMA;
  /** RFC 3339 UTC. */
  floor: string;
  /** Which verified document set the floor (e.g. "timestamp v42"). */
  source: string;
}

export async function readTimeFloor(path: string): Promise<Date | undefined> {
  if (!(await pathExists(path))) return undefined;
  const doc = (await readJsonChecked(path, 'time floor')) as Partial<TimeFloorFile> | null;
  const date = typeof doc?.floor === 'string' ? new Date(doc.floor) : undefined;
  if (doc?.schema !== TIME_FLOOR_SCHEMA || !date || Number.isNaN(date.getTime())) {
    throw new ClawbackError(TufClientErrors.TUF_FLOOR_INVALID, `time floor ${path} is unreadable`, {
      hint: 'Restore it from backup or delete it (the next refresh re-establishes it from signed metadata).',
    });
  }
  return date;
}

/** Move the floor forward to `candidate` if that is later; never backwards. Returns the floor. */
export async function advanceTimeFloor(path: string, candidate: Date, source: string): Promise<Date> {
  const current = await readTimeFloor(path);
  if (current && current >= candidate) return current;
  const file: TimeFloorFile = { schema: TIME_FLOOR_SCHEMA, floor: isoSeconds(candidate), source };
  await writeJsonAtomic(path, file);
  return candidate;
}

/** The reference time for expiry checks (TUF 5.1, with the floor). */
export function effectiveTime(clock: Date, floor: Date | undefined): Date {
  return floor && floor > clock ? floor : clock;
}
