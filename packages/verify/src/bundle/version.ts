import type { Compatibility } from '@clawback/bundle';
import { ClawbackError } from '@clawback/core';
// Only the functions used, not the semver barrel (start-up cost of every verify and install).
import compare from 'semver/functions/compare.js';
import lt from 'semver/functions/lt.js';
import valid from 'semver/functions/valid.js';
import { type Check, runCheck } from './checks.js';
import { BundleVerifyErrors as E } from './errors.js';

export interface VersionPolicyInput {
  candidate: string;
  /** Version running now; the candidate may not be older (no rollback attack). */
  installed?: string;
  /** Pinned minimum (e.g. after a security fix): nothing older is ever accepted. */
  floor?: string;
  /** Allow re-installing exactly the installed version (repair). Default true. */
  allowSame?: boolean;
}

/** Throws VERSION_INVALID, VERSION_DOWNGRADE or VERSION_BELOW_FLOOR; returns a description on success. */
export function assertVersionPolicy(input: VersionPolicyInput): string {
  const strict = (v: string, what: string) => {
    const parsed = valid(v);
    if (parsed === null || parsed !== v) {
      throw new ClawbackError(E.VERSION_INVALID, `${what} ${JSON.stringify(v)} is not a semantic version`);
    }
    return parsed;
  };
  const candidate = strict(input.candidate, 'version');
  if (input.floor !== undefined && lt(candidate, strict(input.floor, 'version floor'))) {
    throw new ClawbackError(E.VERSION_BELOW_FLOOR, `version ${candidate} is below the floor ${input.floor}`, {
      hint: 'Release a version at or above the floor.',
    });
  }
  if (input.installed !== undefined) {
    const installed = strict(input.installed, 'installed version');
    const cmp = compare(candidate, installed);
    if (cmp < 0 || (cmp === 0 && input.allowSame === false)) {
      throw new ClawbackError(
        E.VERSION_DOWNGRADE,
        `version ${candidate} is not newer than the installed ${installed}`,
        {
          hint: 'Downgrades are refused; to undo a release, publish a newer version with the old code.',
        },
      );
    }
  }
  return `version ${candidate} accepted`;
}

export function checkVersionPolicy(input: VersionPolicyInput): Check {
  return runCheck('version-policy', () => assertVersionPolicy(input));
}

export interface DeviceFacts {
  hardwareId: string;
  updaterVersion: string;
}

/** Throws HARDWARE_INCOMPATIBLE or UPDATER_TOO_OLD. */
export function assertCompatible(compat: Compatibility, device: DeviceFacts): string {
  if (!compat.hardware.includes(device.hardwareId)) {
    throw new ClawbackError(
      E.HARDWARE_INCOMPATIBLE,
      `bundle supports ${compat.hardware.join(', ')}, not ${device.hardwareId}`,
    );
  }
  const updater = valid(device.updaterVersion);
  if (updater === null || lt(updater, compat.min_updater_version)) {
    throw new ClawbackError(
      E.UPDATER_TOO_OLD,
      `bundle needs updater >= ${compat.min_updater_version}, device runs ${device.updaterVersion}`,
      { hint: 'Update clawback-updater on the device first.' },
    );
  }
  return `hardware ${device.hardwareId}, updater ${updater}`;
}

export function checkCompatibility(compat: Compatibility, device: DeviceFacts): Check {
  return runCheck('compatibility', () => assertCompatible(compat, device));
}
