// Shared setup for console suites: a pinned TUF root and releases registered from really
// signed targets metadata, with change records from the real approval check.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  approvedChangeRecord,
  type ConsoleRepo,
  consoleTufRepo,
  requestJson,
  SimDevice,
} from '@clawback/testing';
import { expect } from 'vitest';
import type { TestConsole } from './harness.js';

export const AGENT = 'com.openclaw.sensor_parser';

export async function repoFor(c: TestConsole): Promise<ConsoleRepo> {
  const repo = await consoleTufRepo(await mkdtemp(join(tmpdir(), 'clawback-console-repo-')));
  const pinned = await requestJson(c.url, 'PUT', '/api/v1/tuf/root', repo.root, c.tokens.admin);
  expect(pinned.status).toBe(200);
  return repo;
}

export async function registerRelease(
  c: TestConsole,
  repo: ConsoleRepo,
  version: string,
  o: { hardwareIds?: string[]; minUpdaterVersion?: string; withRecord?: boolean } = {},
): Promise<{ id: string; sha256: string; targetPath: string }> {
  const rel = await repo.addBundle(AGENT, version, o);
  const record =
    o.withRecord === false
      ? undefined
      : await approvedChangeRecord({ name: rel.targetPath, sha256: rel.sha256 }, c.releaseSigner);
  const res = await requestJson(
    c.url,
    'POST',
    '/api/v1/releases',
    { targets: rel.targets, targetPath: rel.targetPath, ...(record ? { changeRecord: record } : {}) },
    c.tokens.rm,
  );
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { id: (res.body as { id: string }).id, sha256: rel.sha256, targetPath: rel.targetPath };
}

export async function enrollFleet(
  c: TestConsole,
  n: number,
  make: (i: number) => Partial<ConstructorParameters<typeof SimDevice>[0]> = () => ({}),
) {
  const tok = await requestJson(
    c.url,
    'POST',
    '/api/v1/enrollment-tokens',
    { name: 'batch' },
    c.tokens.admin,
  );
  expect(tok.status).toBe(201);
  const token = (tok.body as { token: string }).token;
  const devices: SimDevice[] = [];
  for (let i = 0; i < n; i++) {
    const d = new SimDevice({ id: `edge-${String(i).padStart(4, '0')}`, now: c.clock.now, ...make(i) });
    const r = await d.enroll(c.url, token);
    expect(r.status).toBe(201);
    devices.push(d);
  }
  return devices;
}
