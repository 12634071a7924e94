import { RESERVED_DIR } from './manifest-types.js';

/** Longest path we accept inside a bundle (Linux PATH_MAX). */
export const MAX_PATH_LENGTH = 4096;

/**
 * Why a bundle member path is unsafe, or undefined when it is fine. The same rule
 * is applied at build, at manifest validation and at read, so a path the
 * writer accepts is exactly a path the reader accepts (design §5).
 */
export function pathProblem(path: string, { allowReserved = false } = {}): string | undefined {
  if (path === '') return 'empty path';
  if (path.length > MAX_PATH_LENGTH) return `longer than ${MAX_PATH_LENGTH} characters`;
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.includes('\\')) return 'contains a backslash';
  if (path.startsWith('/')) return 'is absolute';
  if (/^[A-Za-z]:/.test(path)) return 'has a drive letter';
  const segments = path.split('/');
  for (const s of segments) {
    if (s === '..') return 'contains a ".." segment';
    if (s === '.' || s === '') return 'is not normalized (empty or "." segment)';
  }
  if (!allowReserved && segments[0] === RESERVED_DIR) {
    return `uses the reserved top-level directory "${RESERVED_DIR}/"`;
  }
  return undefined;
}

/**
 * Why a symlink target is unsafe, or undefined. Targets must be relative, may
 * only climb (`..`) at their start, and must resolve inside the bundle. Because
 * the manifest also forbids a symlink as an ancestor of any entry, every `..`
 * walks up through a real directory, so resolving lexically is exact.
 */
export function symlinkTargetProblem(linkPath: string, target: string): string | undefined {
  if (target === '') return 'empty symlink target';
  if (target.length > MAX_PATH_LENGTH) return 'symlink target too long';
  if (target.includes('\0')) return 'symlink target contains a NUL byte';
  if (target.startsWith('/')) return 'symlink target is absolute';
  const segments = target.split('/').filter((s) => s !== '' && s !== '.');
  let climbing = true;
  for (const s of segments) {
    if (s === '..') {
      if (!climbing) return 'symlink target has ".." after a name';
    } else climbing = false;
  }
  const up = segments.filter((s) => s === '..').length;
  const depth = linkPath.split('/').length - 1;
  if (up > depth) return 'symlink target leaves the bundle';
  if (segments.length === up) return 'symlink target is a parent directory of the link';
  return undefined;
}

/** Parent directories of a path, nearest last: `a/b/c` -> [`a`, `a/b`]. */
export function ancestorsOf(path: string): string[] {
  const parts = path.split('/');
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** Byte order of UTF-8, the one sort order of bundle entries (locale-independent). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
