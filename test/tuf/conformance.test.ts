// The conformance-suite client protocol, run as the built bin (as the public suite runs it).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hashFile } from '@clawback/core';
import { addRelease } from '@clawback/sign';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './harness.js';

const BIN = resolve(
  fileURLToPath(new URL('.', import.meta.url)),
  '../../packages/updater/dist/tuf/conformance-cli.js',
);

function run(args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('error', fail);
    child.on('close', (code) => ok({ code: code ?? 1, stderr }));
  });
}

describe('clawback-tuf-conformance', () => {
  let h: Harness;
  let target: string;
  let sha: string;
  beforeAll(async () => {
    expect(existsSync(BIN), `${BIN} missing: build first (npm test builds)`).toBe(true);
    h = await makeHarness();
    const r = await addRelease({
      repo: h.repo,
      bundle: await h.artifact('com.openclaw.sensor_parser', '1.0.0'),
      channel: 'stable',
      now: h.t0,
      verifyBundle: h.verifier,
    });
    target = r.targetPath;
    sha = r.sha256;
  });
  afterAll(async () => h.close());

  it('init, refresh and download exit 0; the target lands under its URL-encoded name', async () => {
    const md = join(h.dir, 'conf', 'metadata');
    expect((await run(['--metadata-dir', md, 'init', join(h.repo, 'metadata', '1.root.json')])).code).toBe(0);
    expect(
      (await run(['--metadata-dir', md, '--metadata-url', `${h.server.url}/metadata`, 'refresh'])).code,
    ).toBe(0);
    const dir = join(h.dir, 'conf', 'targets');
    const dl = await run([
      '--metadata-dir',
      md,
      '--metadata-url',
      `${h.server.url}/metadata`,
      '--target-name',
      target,
      '--target-base-url',
      `${h.server.url}/targets`,
      '--target-dir',
      dir,
      'download',
    ]);
    expect(dl.code).toBe(0);
    expect((await hashFile(join(dir, encodeURIComponent(target)))).sha256).toBe(sha);
  });

  it('exits 1 with the reason on a refused refresh and on bad usage', async () => {
    const md = join(h.dir, 'conf', 'metadata');
    h.server.override('/metadata/timestamp.json', '{"signed": {}, "signatures": []}');
    const bad = await run(['--metadata-dir', md, '--metadata-url', `${h.server.url}/metadata`, 'refresh']);
    h.server.clearOverrides();
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/TUF_METADATA_INVALID/);
    expect((await run(['refresh'])).code).toBe(1);
    expect((await run(['--metadata-dir', md, 'init', join(h.dir, 'nope.json')])).code).toBe(1);
  });
});
