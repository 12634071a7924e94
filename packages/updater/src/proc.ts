/**
 * Reading the agent's process tree from /proc (Linux). Kept apart from the health checks
 * so the arithmetic there stays testable with plain numbers.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { join } from 'node:path';

export interface ProcSample {
  /** Processes found in the tree (root first). */
  pids: number[];
  /** Sum of VmRSS over the tree, bytes. */
  rssBytes: number;
  /** Sum of utime+stime over the tree, clock ticks. */
  cpuTicks: number;
}

interface ProcStat {
  pid: number;
  ppid: number;
  state: string;
  ticks: number;
}

async function readStat(procRoot: string, pid: number): Promise<ProcStat | null> {
  let text: string;
  try {
    text = await readFile(join(procRoot, String(pid), 'stat'), 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  const state = fields[0] ?? '?';
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return { pid, ppid, state, ticks: utime + stime };
}

async function readRss(procRoot: string, pid: number): Promise<number> {
  try {
    const status = await readFile(join(procRoot, String(pid), 'status'), 'utf8');
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return m?.[1] ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** True when the process exists and is not a zombie. */
export async function processAlive(pid: number, procRoot = '/proc'): Promise<boolean> {
  const st = await readStat(procRoot, pid);
  return st !== null && st.state !== 'Z' && st.state !== 'X';
}

/** Sample the process tree rooted at `rootPid`: RSS and CPU ticks summed over it. */
export async function sampleProcessTree(rootPid: number, procRoot = '/proc'): Promise<ProcSample | null> {
  const names = await readdir(procRoot).catch(() => [] as string[]);
  const stats = (
    await Promise.all(names.filter((n) => /^\d+$/.test(n)).map((n) => readStat(procRoot, Number(n))))
  ).filter((s): s is ProcStat => s !== null);
  const byParent = new Map<number, ProcStat[]>();
  let root: ProcStat | undefined;
  for (const s of stats) {
    if (s.pid === rootPid) root = s;
    const list = byParent.get(s.ppid) ?? [];
    list.push(s);
    byParent.set(s.ppid, list);
  }
  if (!root || root.state === 'Z') return null;
  const tree: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const s = queue.shift() as ProcStat;
    tree.push(s);
    queue.push(...(byParent.get(s.pid) ?? []));
  }
  const rss = await Promise.all(tree.map((s) => readRss(procRoot, s.pid)));
  return {
    pids: tree.map((s) => s.pid),
    rssBytes: rss.reduce((a, b) => a + b, 0),
    cpuTicks: tree.reduce((a, s) => a + s.ticks, 0),
  };
}

let clockTicks: Promise<number> | undefined;

/** AT_CLKTCK in the ELF auxiliary vector: the value sysconf(_SC_CLK_TCK) itself returns. */
const AT_CLKTCK = 17n;
const WORD_BYTES: Record<string, number> = { arm: 4, ia32: 4, mips: 4, mipsel: 4, ppc: 4, s390: 4 };

/** AT_CLKTCK from an auxiliary vector (`/proc/self/auxv`): pairs of native words, type then value. */
export function clockTicksFromAuxv(auxv: Uint8Array, word = 8, littleEndian = true): number | undefined {
  const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
  const read = (at: number) =>
    word === 8 ? view.getBigUint64(at, littleEndian) : BigInt(view.getUint32(at, littleEndian));
  for (let at = 0; at + 2 * word <= auxv.byteLength; at += 2 * word) {
    const type = read(at);
    if (type === 0n) return undefined; // AT_NULL ends the vector
    if (type === AT_CLKTCK) {
      const hz = Number(read(at + word));
      return hz > 0 && hz < 1_000_000 ? hz : undefined;
    }
  }
  return undefined;
}

/**
 * USER_HZ, the unit of utime/stime; 100 on every mainstream Linux build. Read from the kernel's
 * auxiliary vector (no process to spawn during probation); `getconf CLK_TCK` where that fails.
 */
export function clockTicksPerSecond(): Promise<number> {
  clockTicks ??= readFile('/proc/self/auxv')
    .then((auxv) => clockTicksFromAuxv(auxv, WORD_BYTES[process.arch] ?? 8, endianness() === 'LE'))
    .catch(() => undefined)
    .then(
      (hz) =>
        hz ??
        new Promise<number>((resolve) => {
          execFile('getconf', ['CLK_TCK'], { timeout: 2000 }, (err, stdout) => {
            const n = Number.parseInt(String(stdout).trim(), 10);
            resolve(err || !Number.isInteger(n) || n <= 0 ? 100 : n);
          });
        }),
    );
  return clockTicks;
}
