import { ClawbackError, CoreErrors } from './errors.js';

const UNIT_MS: Record<string, number> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
  // A calendar-free year (365 days): enough for retention periods and "everything" defaults.
  y: 31_536_000_000,
  year: 31_536_000_000,
  years: 31_536_000_000,
};

/** Parse "90s", "15 minutes", "36h", "30 days", "2w" into milliseconds. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$/i.exec(text);
  const unit = m?.[2]?.toLowerCase();
  const factor = unit === undefined ? undefined : UNIT_MS[unit];
  if (!m?.[1] || factor === undefined) {
    throw new ClawbackError(CoreErrors.DURATION_INVALID, `cannot read duration ${JSON.stringify(text)}`, {
      hint: 'Write a number and a unit, e.g. "90s", "15m", "36h", "30 days", "2 years".',
    });
  }
  return Math.round(Number.parseFloat(m[1]) * factor);
}

/**
 * Resolve a `--since` value to an instant: an ISO date/time, a duration ago
 * ("30 days"), or a calendar period start: "today", "week", "month", "quarter",
 * "year" (UTC).
 */
export function parseSince(text: string, now: Date): Date {
  const t = text.trim().toLowerCase();
  const y = now.getUTCFullYear();
  const mo = now.getUTCMonth();
  switch (t) {
    case 'today':
      return new Date(Date.UTC(y, mo, now.getUTCDate()));
    case 'week': {
      const day = (now.getUTCDay() + 6) % 7; // Monday starts the week
      return new Date(Date.UTC(y, mo, now.getUTCDate() - day));
    }
    case 'month':
      return new Date(Date.UTC(y, mo, 1));
    case 'quarter':
      return new Date(Date.UTC(y, mo - (mo % 3), 1));
    case 'year':
      return new Date(Date.UTC(y, 0, 1));
  }
  if (/^\d{4}-\d{2}-\d{2}/.test(t)) {
    const d = new Date(text.trim());
    if (!Number.isNaN(d.getTime())) return d;
  }
  try {
    return new Date(now.getTime() - parseDuration(t.replace(/\s+ago$/, '')));
  } catch {
    throw new ClawbackError(CoreErrors.DURATION_INVALID, `cannot read --since ${JSON.stringify(text)}`, {
      hint: 'Use an ISO date (2026-01-01), a duration ("30 days"), or today|week|month|quarter|year.',
    });
  }
}

/** RFC 3339 UTC with second precision, the form every Clawback document uses. */
export function isoSeconds(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
