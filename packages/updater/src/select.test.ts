import { describe, expect, it } from 'vitest';
import { type SelectionInput, selectRelease } from './select.js';
import type { TargetInfo } from './state.js';

const t = (version: string, patch: Partial<TargetInfo> = {}): TargetInfo => ({
  agent: 'com.x.agent',
  version,
  channel: 'stable',
  targetPath: `com.x.agent/${version}/bundle.clawback`,
  length: 10,
  sha256: 'a'.repeat(64),
  hardwareIds: ['rpi4'],
  minUpdaterVersion: '0.1.0',
  ...patch,
});

const base = (patch: Partial<SelectionInput> = {}): SelectionInput => ({
  candidates: [
    t('1.0.0'),
    t('1.1.0'),
    t('2.0.0', { channel: 'beta' }),
    t('1.2.0', { hardwareIds: ['jetson'] }),
  ],
  revoked: new Set(),
  agent: 'com.x.agent',
  channel: 'stable',
  hardwareId: 'rpi4',
  updaterVersion: '0.1.0',
  installedVersion: '1.0.0',
  floorVersion: null,
  minVersion: null,
  failedVersions: [],
  ...patch,
});

describe('selectRelease', () => {
  it('picks the newest allowed release on the channel for this hardware', () => {
    const s = selectRelease(base());
    expect(s.kind === 'update' && s.target.version).toBe('1.1.0');
    expect(s.kind === 'update' && s.skipped.map((k) => k.code).sort()).toEqual([
      'DOWNGRADE_REFUSED',
      'HARDWARE_INCOMPATIBLE',
      'MANIFEST_MISMATCH',
    ]);
  });

  it('never offers revoked, rolled-back, or at-or-below-floor versions', () => {
    expect(selectRelease(base({ revoked: new Set(['1.1.0']) })).kind).toBe('none');
    expect(selectRelease(base({ failedVersions: ['1.1.0'] })).kind).toBe('none');
    expect(selectRelease(base({ floorVersion: '1.1.0' })).kind).toBe('none');
    expect(selectRelease(base({ minVersion: '1.1.0' })).kind).toBe('none');
  });

  it('refuses a requested version with the rule it breaks', () => {
    const code = (version: string, patch: Partial<SelectionInput> = {}) => {
      const s = selectRelease(base({ requested: { version }, ...patch }));
      return s.kind === 'refused' ? s.code : s.kind;
    };
    expect(code('1.1.0')).toBe('update');
    expect(code('0.9.0', { candidates: [t('0.9.0')] })).toBe('DOWNGRADE_REFUSED');
    expect(code('1.2.0')).toBe('HARDWARE_INCOMPATIBLE');
    expect(code('1.1.0', { revoked: new Set(['1.1.0']), candidates: [] })).toBe('RELEASE_REVOKED');
    expect(code('9.9.9')).toBe('TARGET_NOT_FOUND');
    expect(code('1.1.0', { candidates: [t('1.1.0', { minUpdaterVersion: '1.0.0' })] })).toBe(
      'UPDATER_TOO_OLD',
    );
    expect(code('1.0.0')).toBe('none');
  });
});
