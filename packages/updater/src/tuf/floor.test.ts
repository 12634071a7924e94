import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advanceTimeFloor, effectiveTime, readTimeFloor } from './floor.js';

describe('time floor', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const file = async () => {
    const d = await mkdtemp(join(tmpdir(), 'clawback-floor-'));
    dirs.push(d);
    return join(d, 'floor.json');
  };

  it('only moves forward', async () => {
    const f = await file();
    expect(await readTimeFloor(f)).toBeUndefined();
    const t1 = new Date('2026-11-01T00:00:00Z');
    const t2 = new Date('2026-11-02T00:00:00Z');
    expect(await advanceTimeFloor(f, t2, 'timestamp v2')).toEqual(t2);
    expect(await advanceTimeFloor(f, t1, 'timestamp v1')).toEqual(t2);
    expect(JSON.parse(await readFile(f, 'utf8'))).toMatchObject({
      floor: '2026-11-02T00:00:00Z',
      source: 'timestamp v2',
    });
  });

  it('uses the later of the clock and the floor', () => {
    const floor = new Date('2026-11-02T00:00:00Z');
    expect(effectiveTime(new Date(0), floor)).toEqual(floor);
    const later = new Date('2027-01-01T00:00:00Z');
    expect(effectiveTime(later, floor)).toEqual(later);
    expect(effectiveTime(new Date(0), undefined)).toEqual(new Date(0));
  });

  it('refuses a damaged floor file with a coded error', async () => {
    const f = await file();
    await writeFile(f, '{"schema":"clawback.time-floor/v1","floor":"not a date"}');
    await expect(readTimeFloor(f)).rejects.toMatchObject({ code: 'TUF_FLOOR_INVALID' });
  });
});
