/**
 * Choosing a release (pure): among the targets the TUF repository signed, the newest one
 * for this agent and channel that fits this hardware and updater, is not revoked, was not
 * already rolled back here, and is above both the installed version and the device floor.
 * An explicitly requested version (by the console or `--version`) that breaks a rule is
 * refused with the rule's code, so the refusal can be reported.
 */

import { UpdaterErrors } from './errors.js';
import { semver } from './semver.js';
import type { TargetInfo } from './state.js';

export interface SelectionInput {
  candidates: readonly TargetInfo[];
  /** Versions of this agent on the signed revocation list. */
  revoked: ReadonlySet<string>;
  agent: string;
  channel: string;
  hardwareId: string;
  updaterVersion: string;
  installedVersion: string | null;
  floorVersion: string | null;
  minVersion: string | null;
  failedVersions: readonly string[];
  /** Set when a specific version is asked for. */
  requested?: { version: string; rolloutId?: string } | undefined;
}

export interface Skipped {
  version: string;
  code: string;
  reason: string;
}

export type Selection =
  | { kind: 'none'; skipped: Skipped[]; reason: string }
  | { kind: 'update'; target: TargetInfo; skipped: Skipped[] }
  | { kind: 'refused'; target: TargetInfo; code: string; reason: string };

/** Why a candidate may not be installed, or null when it may. */
export function refusalOf(t: TargetInfo, input: SelectionInput): Skipped | null {
  const skip = (code: string, reason: string): Skipped => ({ version: t.version, code, reason });
  if (t.agent !== input.agent) return skip(UpdaterErrors.MANIFEST_MISMATCH, `target is for ${t.agent}`);
  if (!semver.valid(t.version))
    return skip(UpdaterErrors.MANIFEST_MISMATCH, `version ${t.version} is not semver`);
  if (input.revoked.has(t.version)) return skip(UpdaterErrors.RELEASE_REVOKED, `${t.version} is revoked`);
  const floors = [input.installedVersion, input.floorVersion, input.minVersion].filter(
    (v): v is string => v !== null && semver.valid(v) !== null,
  );
  for (const f of floors) {
    if (semver.lte(t.version, f)) {
      return skip(
        UpdaterErrors.DOWNGRADE_REFUSED,
        `${t.version} is not above ${f} (installed version or floor)`,
      );
    }
  }
  if (input.failedVersions.includes(t.version)) {
    return skip(
      UpdaterErrors.DOWNGRADE_REFUSED,
      `${t.version} was already rolled back or refused on this device`,
    );
  }
  if (t.channel !== input.channel) {
    return skip(
      UpdaterErrors.MANIFEST_MISMATCH,
      `${t.version} is on channel ${t.channel}, device follows ${input.channel}`,
    );
  }
  if (!t.hardwareIds.includes(input.hardwareId)) {
    return skip(
      UpdaterErrors.HARDWARE_INCOMPATIBLE,
      `${t.version} supports ${t.hardwareIds.join(', ') || 'no hardware'}, not ${input.hardwareId}`,
    );
  }
  if (
    t.minUpdaterVersion &&
    semver.valid(t.minUpdaterVersion) &&
    semver.gt(t.minUpdaterVersion, input.updaterVersion)
  ) {
    return skip(
      UpdaterErrors.UPDATER_TOO_OLD,
      `${t.version} needs updater ${t.minUpdaterVersion}, this is ${input.updaterVersion}`,
    );
  }
  return null;
}

export function selectRelease(input: SelectionInput): Selection {
  const mine = input.candidates.filter((c) => c.agent === input.agent);
  if (input.requested) {
    const { version, rolloutId } = input.requested;
    if (input.installedVersion !== null && version === input.installedVersion) {
      return { kind: 'none', skipped: [], reason: `${version} is already installed` };
    }
    if (input.failedVersions.includes(version)) {
      // Refused or rolled back here before, and already reported once: do not report it again.
      return {
        kind: 'none',
        skipped: [],
        reason: `${version} was already rolled back or refused on this device`,
      };
    }
    const found = mine.find((c) => c.version === version);
    if (!found) {
      const target: TargetInfo = {
        agent: input.agent,
        version,
        channel: input.channel,
        targetPath: `${input.agent}/${version}/bundle.clawback`,
        length: 0,
        sha256: '',
        hardwareIds: [],
        minUpdaterVersion: null,
        ...(rolloutId ? { rolloutId } : {}),
      };
      const revoked = input.revoked.has(version);
      return {
        kind: 'refused',
        target,
        code: revoked ? UpdaterErrors.RELEASE_REVOKED : UpdaterErrors.TARGET_NOT_FOUND,
        reason: revoked ? `${version} is revoked` : `${version} is not a signed target in the repository`,
      };
    }
    const target = rolloutId ? { ...found, rolloutId } : found;
    const why = refusalOf(target, input);
    return why
      ? { kind: 'refused', target, code: why.code, reason: why.reason }
      : { kind: 'update', target, skipped: [] };
  }
  const skipped: Skipped[] = [];
  const allowed: TargetInfo[] = [];
  for (const c of mine) {
    const why = refusalOf(c, input);
    if (why) skipped.push(why);
    else allowed.push(c);
  }
  allowed.sort((a, b) => semver.rcompare(a.version, b.version));
  const best = allowed[0];
  if (!best) {
    return {
      kind: 'none',
      skipped,
      reason: input.installedVersion
        ? `${input.installedVersion} is the newest allowed release`
        : 'no allowed release',
    };
  }
  return { kind: 'update', target: best, skipped };
}
