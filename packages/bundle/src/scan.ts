import type { Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ClawbackError } from '@clawback/core';
import { BundleErrors } from './errors.js';
import { comparePaths, pathProblem, symlinkTargetProblem } from './paths.js';

export type ScannedEntry =
  | { path: string; type: 'file'; mode: number; size: number; abs: string; stats: Stats }
  | { path: string; type: 'directory'; mode: number }
  | { path: string; type: 'symlink'; target: string };

/** Modes are normalized: anything executable becomes 0755, the rest 0644. */
export function normalizeFileMode(mode: number): 0o644 | 0o755 {
  return (mode & 0o111) !== 0 ? 0o755 : 0o644;
}

/**
 * Walk a bundle source directory without following symlinks and list every
 * entry, sorted. Refuses what a bundle may not hold (design §5): hardlinks,
 * devices, fifos, sockets, unsafe names, links leaving the directory. Every
 * refusal is collected so the operator sees them all at once.
 */
export async function scanDirectory(root: string, maxEntries = 100_000): Promise<ScannedEntry[]> {
  const out: ScannedEntry[] = [];
  const problems: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const names = (await readdir(rel === '' ? root : join(root, rel))).sort(comparePaths);
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, path);
      const bad = pathProblem(path);
      if (bad) {
        problems.push(`${path}: ${bad}`);
        continue;
      }
      if (out.length >= maxEntries) {
        throw new ClawbackError(
          BundleErrors.BUILD_ENTRY_REFUSED,
          `${root} holds more than ${maxEntries} entries`,
        );
      }
      const st = await lstat(abs);
      if (st.isSymbolicLink()) {
        const target = await readlink(abs);
        const t = symlinkTargetProblem(path, target);
        if (t) problems.push(`${path}: ${t} (${target})`);
        else out.push({ path, type: 'symlink', target });
      } else if (st.isDirectory()) {
        out.push({ path, type: 'directory', mode: 0o755 });
        await walk(path);
      } else if (st.isFile()) {
        if (st.nlink > 1) problems.push(`${path}: is a hardlink (${st.nlink} links); copy it instead`);
        else
          out.push({ path, type: 'file', mode: normalizeFileMode(st.mode), size: st.size, abs, stats: st });
      } else {
        const kind = st.isFIFO()
          ? 'a fifo'
          : st.isSocket()
            ? 'a socket'
            : st.isCharacterDevice() || st.isBlockDevice()
              ? 'a device file'
              : 'not a regular file';
        problems.push(`${path}: is ${kind}`);
      }
    }
  };
  await walk('');
  if (problems.length > 0) {
    throw new ClawbackError(
      BundleErrors.BUILD_ENTRY_REFUSED,
      `${root} holds entries a bundle may not contain:\n  ${problems.join('\n  ')}`,
      { hint: 'Remove or replace the entries listed above and build again.', details: { problems } },
    );
  }
  return out.sort((a, b) => comparePaths(a.path, b.path));
}
