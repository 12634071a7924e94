// Ctrl-C in the middle of `npm start`: the demo's agents run detached from it, so an interrupt
// must stop them (and the servers) before the process exits — a real process, a real SIGINT.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../../packages/cli/dist/bundle/clawback.mjs', import.meta.url));
let base: string | undefined;

afterAll(async () => {
  if (base) await rm(base, { recursive: true, force: true });
});

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it('stops every agent it started and exits 130 when interrupted mid-rollout', async () => {
  base = await mkdtemp(join(tmpdir(), 'clawback-e2e-int-'));
  const ws = join(base, 'demo');
  const child = spawn(process.execPath, [CLI, 'demo', '--dir', ws], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let sent = false;
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    // Agents run once the first rollout committed on some device: interrupt then (once).
    if (!sent && /committed 1\.0\.0/.test(out)) {
      sent = true;
      child.kill('SIGINT');
    }
  });
  const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
  expect(out).toMatch(/SIGINT: stopping/);
  expect(code).toBe(130);
  const devices = await readdir(join(ws, 'devices'));
  expect(devices.length).toBe(5);
  let started = 0;
  for (const d of devices) {
    const pid = Number.parseInt(
      await readFile(join(ws, 'devices', d, 'root', 'agent.pid'), 'utf8').catch(() => ''),
      10,
    );
    if (!Number.isInteger(pid)) continue;
    started += 1;
    expect(alive(pid), `${d} agent ${pid} still runs`).toBe(false);
  }
  expect(started).toBeGreaterThan(0);
}, 180_000);
