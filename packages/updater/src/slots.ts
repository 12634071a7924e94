/**
 * Slot backends. The default keeps two directories (`slots/a`, `slots/b`) and a `current`
 * symlink; switching renames a freshly made symlink over `current`, which POSIX makes
 * atomic, then fsyncs the directory (design §6 invariants 1 and 3). A bootloader backend
 * (U-Boot `fw_setenv`, GRUB `grub-editenv`) implements the same interface: `activate`
 * writes the boot variable, `active` reads it (docs/updater.md).
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ClawbackError, fsyncDir, pathExists, readJsonChecked, writeJsonAtomic } from '@clawback/core';
import { UpdaterErrors } from './errors.js';
import type { InstalledRelease, SlotName } from './state.js';

/** Written beside a slot only after every byte in it was verified. */
export interface SlotMeta {
  complete: true;
  release: InstalledRelease;
  writtenAt: string;
}

export interface SlotBackend {
  readonly kind: string;
  slotDir(slot: SlotName): string;
  /** The slot the device runs now, or null before the first install. */
  active(): Promise<SlotName | null>;
  /** Make `slot` active atomically. Running it again for the active slot is a no-op. */
  activate(slot: SlotName, beforeCommit?: () => void): Promise<void>;
  /** Empty a slot for writing; refuses the active slot. Removes its completion marker first. */
  prepare(slot: SlotName): Promise<string>;
  markComplete(slot: SlotName, meta: SlotMeta): Promise<void>;
  readMeta(slot: SlotName): Promise<SlotMeta | null>;
  /** Remove leftovers of an interrupted switch. */
  repair(): Promise<void>;
}

export class DirectorySlotBackend implements SlotBackend {
  readonly kind = 'directory';
  constructor(
    private readonly root: string,
    private readonly slotsDir = join(root, 'slots'),
    private readonly current = join(root, 'current'),
  ) {}

  slotDir(slot: SlotName): string {
    return join(this.slotsDir, slot);
  }

  private metaPath(slot: SlotName): string {
    return join(this.slotsDir, `${slot}.meta.json`);
  }

  async active(): Promise<SlotName | null> {
    let target: string;
    try {
      target = await readlink(this.current);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    const m = /(?:^|\/)slots\/(a|b)\/?$/.exec(target);
    if (!m?.[1]) {
      throw new ClawbackError(
        UpdaterErrors.UPDATER_STATE_INVALID,
        `${this.current} points at ${target}, not at a slot`,
        { hint: 'Only clawback-updater may change the current symlink; re-provision the device.' },
      );
    }
    return m[1] as SlotName;
  }

  async activate(slot: SlotName, beforeCommit?: () => void): Promise<void> {
    if ((await this.active()) === slot) return;
    const tmp = `${this.current}.${randomBytes(4).toString('hex')}.tmp`;
    try {
      // Relative target: the device root can be moved or mounted elsewhere.
      await symlink(join('slots', slot), tmp);
      beforeCommit?.();
      await rename(tmp, this.current);
      await fsyncDir(this.root);
    } catch (cause) {
      await unlink(tmp).catch(() => undefined);
      throw new ClawbackError(UpdaterErrors.SLOT_SWITCH_FAILED, `could not switch to slot ${slot}`, {
        cause,
        hint: 'The previous slot is still active. Check permissions on the device root.',
      });
    }
  }

  async prepare(slot: SlotName): Promise<string> {
    if ((await this.active()) === slot) {
      throw new ClawbackError(
        UpdaterErrors.UPDATER_STATE_INVALID,
        `refusing to overwrite active slot ${slot}`,
      );
    }
    const dir = this.slotDir(slot);
    // Marker first: a crash mid-wipe must never leave a "complete" slot with missing files.
    await rm(this.metaPath(slot), { force: true });
    await fsyncDir(this.slotsDir).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true, mode: 0o755 });
    await fsyncDir(this.slotsDir);
    return dir;
  }

  async markComplete(slot: SlotName, meta: SlotMeta): Promise<void> {
    await writeJsonAtomic(this.metaPath(slot), meta);
  }

  async readMeta(slot: SlotName): Promise<SlotMeta | null> {
    if (!(await pathExists(this.metaPath(slot)))) return null;
    const meta = (await readJsonChecked(this.metaPath(slot), 'slot marker')) as SlotMeta;
    return meta.complete === true ? meta : null;
  }

  async repair(): Promise<void> {
    const names = await readdir(this.root).catch(() => [] as string[]);
    for (const n of names) {
      if (/^current\.[0-9a-f]{8}\.tmp$/.test(n)) {
        const p = join(this.root, n);
        if ((await lstat(p)).isSymbolicLink()) await unlink(p);
      }
    }
  }

  /** Create the slot directories at provisioning. */
  async init(): Promise<void> {
    await mkdir(this.slotDir('a'), { recursive: true });
    await mkdir(this.slotDir('b'), { recursive: true });
  }
}
