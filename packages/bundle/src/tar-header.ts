import { Header, Pax } from 'tar';

/** Fixed ownership written into every header, so builds on any machine agree. */
export const TAR_OWNER = { uid: 0, gid: 0, uname: 'root', gname: 'root' } as const;
export const TAR_BLOCK = 512;

export interface HeaderSpec {
  path: string;
  type: 'File' | 'Directory' | 'SymbolicLink';
  mode: number;
  size: number;
  mtime: Date;
  linkpath?: string;
}

/**
 * Encode one member's header with the `tar` package: a ustar block, preceded by
 * a pax extended header when a field does not fit (long path or link target,
 * huge size). Only the fields we pass are written, so output is deterministic.
 */
export function encodeHeader(spec: HeaderSpec): Buffer {
  const path = spec.type === 'Directory' ? `${spec.path}/` : spec.path;
  const block = Buffer.alloc(TAR_BLOCK);
  const header = new Header({
    path,
    mode: spec.mode,
    size: spec.size,
    mtime: spec.mtime,
    type: spec.type,
    linkpath: spec.linkpath ?? '',
    ...TAR_OWNER,
    devmaj: 0,
    devmin: 0,
  });
  header.encode(block, 0);
  if (!header.needPax) return block;
  const pax = new Pax({
    path,
    ...(spec.linkpath === undefined ? {} : { linkpath: spec.linkpath }),
    ...(spec.size > 0o77777777777 ? { size: spec.size } : {}),
    mtime: spec.mtime,
  }).encode();
  return Buffer.concat([pax, block]);
}

/** Zero bytes that pad a member's data to a whole block. */
export function padding(size: number): Buffer {
  const rem = size % TAR_BLOCK;
  return Buffer.alloc(rem === 0 ? 0 : TAR_BLOCK - rem);
}

/** End of archive: two zero blocks. */
export const END_OF_ARCHIVE = Buffer.alloc(TAR_BLOCK * 2);
