import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clockTicksFromAuxv, clockTicksPerSecond } from './proc.js';

/** An auxiliary vector of (type, value) words, AT_NULL-terminated. */
function auxv(pairs: [number, number][], word: 4 | 8, littleEndian: boolean): Uint8Array {
  const all = [...pairs, [0, 0] as [number, number]];
  const view = new DataView(new ArrayBuffer(all.length * 2 * word));
  all.flat().forEach((v, i) => {
    if (word === 8) view.setBigUint64(i * 8, BigInt(v), littleEndian);
    else view.setUint32(i * 4, v, littleEndian);
  });
  return new Uint8Array(view.buffer);
}

describe('clock ticks (USER_HZ)', () => {
  it('reads AT_CLKTCK from 64-bit and 32-bit auxiliary vectors of either byte order', () => {
    const pairs: [number, number][] = [
      [6, 4096], // AT_PAGESZ
      [17, 250], // AT_CLKTCK
      [25, 123456], // AT_RANDOM
    ];
    expect(clockTicksFromAuxv(auxv(pairs, 8, true))).toBe(250);
    expect(clockTicksFromAuxv(auxv(pairs, 4, false), 4, false)).toBe(250);
    // No AT_CLKTCK before AT_NULL, a truncated vector, nonsense values: unknown (the caller falls back).
    expect(clockTicksFromAuxv(auxv([[6, 4096]], 8, true))).toBeUndefined();
    expect(clockTicksFromAuxv(auxv(pairs, 8, true).subarray(0, 20))).toBeUndefined();
    expect(clockTicksFromAuxv(auxv([[17, 0]], 8, true))).toBeUndefined();
  });

  it('agrees with getconf on this machine', async () => {
    const expected = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    expect(clockTicksFromAuxv(readFileSync('/proc/self/auxv'))).toBe(expected);
    expect(await clockTicksPerSecond()).toBe(expected);
  });
});
