import { execFileSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAgentYaml } from './agent-yaml.js';
import { extractBundle } from './extract.js';
import { decodeManifest } from './manifest.js';
import { githubProvenancePredicate } from './provenance.js';
import { readBundle } from './reader.js';
import { SAMPLE_AGENT_YAML, sampleAgentSpec, writeSampleAgentDir } from './test-fixtures.js';
import { buildBundle } from './writer.js';

let tmp: string;
beforeEach(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-bundle-'));
});
afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function* once(b: Uint8Array) {
  yield b;
}

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'resolved',
    (e: { code?: string }) => e.code,
  );

describe('agent.yaml', () => {
  it('accepts the operators agent_profile verbatim and fills defaults', () => {
    const spec = parseAgentYaml(SAMPLE_AGENT_YAML);
    expect(spec.agent_profile.resource_limits).toEqual({
      max_working_set_mb: 50,
      max_cpu_percent: 15,
      max_secure_storage_kb: 10,
    });
    expect(spec.entrypoint).toEqual({ path: 'bin/sensor-agent', args: [] });
    expect(spec.health.checks[1]).toEqual({ type: 'heartbeat', path: 'run/heartbeat', max_age_secs: 600 });
  });

  it('reports every bad field at once with its path', () => {
    const bad = SAMPLE_AGENT_YAML.replace('max_cpu_percent: 15', 'max_cpu_percent: 150')
      .replace('version: 1.4.0', 'version: one')
      .replace('anomaly_reporting: true', 'anomaly_reporting: true, extra_knob: 1');
    try {
      parseAgentYaml(bad);
      expect.unreachable();
    } catch (err) {
      const e = err as { code: string; details: { problems: string[] } };
      expect(e.code).toBe('AGENT_YAML_INVALID');
      expect(e.details.problems).toEqual(
        expect.arrayContaining([
          'agent_profile.resource_limits.max_cpu_percent: must be <= 100',
          'version: must be a semantic version like 1.2.3',
          'agent_profile.monitoring.extra_knob: unknown field',
        ]),
      );
    }
  });

  it('refuses YAML syntax errors with a code', () => {
    expect(() => parseAgentYaml('name: [unclosed')).toThrow(
      expect.objectContaining({ code: 'AGENT_YAML_INVALID' }),
    );
  });
});

describe('buildBundle', () => {
  it('is reproducible: two builds give identical bytes, manifest first', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    const a = await buildBundle({
      dir,
      spec: sampleAgentSpec(),
      out: join(tmp, 'a.bundle'),
      sourceDateEpoch: 1_700_000_000,
    });
    const b = await buildBundle({
      dir,
      spec: sampleAgentSpec(),
      out: join(tmp, 'b.bundle'),
      sourceDateEpoch: 1_700_000_000,
    });
    const [ba, bb] = [await readFile(a.path), await readFile(b.path)];
    expect(ba.equals(bb)).toBe(true);
    const listing = execFileSync('tar', ['tvf', a.path], { encoding: 'utf8' }).trim().split('\n');
    expect(listing[0]).toContain('clawback/manifest.json');
    expect(listing.every((l) => l.includes('root/root'))).toBe(true);
    const link = a.manifest.files.find((f) => f.path === 'parser-link.js');
    expect(link).toEqual({ path: 'parser-link.js', type: 'symlink', target: 'lib/parser.js' });
    expect(a.manifest.policy?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('refuses a symlink leaving the directory, a hardlink and a fifo, listing all', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    await symlink('../../etc/passwd', join(dir, 'escape'));
    await link(join(dir, 'lib', 'parser.js'), join(dir, 'hard.js'));
    execFileSync('mkfifo', [join(dir, 'pipe')]);
    try {
      await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'x.bundle') });
      expect.unreachable();
    } catch (err) {
      const e = err as { code: string; details: { problems: string[] } };
      expect(e.code).toBe('BUILD_ENTRY_REFUSED');
      expect(e.details.problems.join('\n')).toMatch(/escape: symlink target leaves the bundle/);
      expect(e.details.problems.join('\n')).toMatch(/hard\.js: is a hardlink/);
      expect(e.details.problems.join('\n')).toMatch(/pipe: is a fifo/);
    }
    await expect(lstat(join(tmp, 'x.bundle'))).rejects.toThrow();
  });

  it('refuses an absolute symlink and the reserved clawback/ directory', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    await symlink('/etc/passwd', join(dir, 'abs'));
    await mkdir(join(dir, 'clawback'));
    const err = await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'x.bundle') }).catch(
      (e) => e,
    );
    expect(err.code).toBe('BUILD_ENTRY_REFUSED');
    expect(err.details.problems.join('\n')).toMatch(/abs: symlink target is absolute/);
    expect(err.details.problems.join('\n')).toMatch(/reserved/);
  });

  it('refuses to overwrite an existing bundle and to write inside the directory', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    await writeFile(join(tmp, 'exists.bundle'), 'old');
    expect(await codeOf(buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'exists.bundle') }))).toBe(
      'BUILD_OUTPUT_EXISTS',
    );
    expect(await readFile(join(tmp, 'exists.bundle'), 'utf8')).toBe('old');
    expect(await codeOf(buildBundle({ dir, spec: sampleAgentSpec(), out: join(dir, 'self.bundle') }))).toBe(
      'USAGE',
    );
  });

  it('checks the entrypoint and policy exist', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    const spec = sampleAgentSpec({ entrypoint: { path: 'bin/missing', args: [] } });
    expect(await codeOf(buildBundle({ dir, spec, out: join(tmp, 'x.bundle') }))).toBe('MANIFEST_INVALID');
  });
});

describe('readBundle / extractBundle', () => {
  it('extracts every entry with digests checked, manifest written last', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    const b = await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'a.bundle') });
    const dest = join(tmp, 'slot');
    const r = await extractBundle(createReadStream(b.path), dest, {
      expectedManifest: b.manifestBytes,
      durable: false,
    });
    expect(r.fileCount).toBe(4);
    expect(await readFile(join(dest, 'lib', 'nested', 'data.bin'))).toEqual(Buffer.alloc(70_000, 7));
    expect(await readlink(join(dest, 'parser-link.js'))).toBe('lib/parser.js');
    expect((await lstat(join(dest, 'bin', 'sensor-agent'))).mode & 0o777).toBe(0o755);
    expect(decodeManifest(await readFile(join(dest, 'clawback', 'manifest.json')))).toEqual(b.manifest);
  });

  it('refuses a non-empty destination and empties it again after a failed extraction', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    const b = await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'a.bundle') });
    const bytes = await readFile(b.path);
    const at = bytes.indexOf(Buffer.alloc(512, 7)) + 100;
    bytes[at] = (bytes[at] ?? 0) ^ 1; // inside data.bin's bytes
    const dest = join(tmp, 'slot');
    expect(
      await codeOf(extractBundle(once(bytes), dest, { expectedManifest: b.manifestBytes, durable: false })),
    ).toBe('BUNDLE_DIGEST_MISMATCH');
    expect(await readdir(dest)).toEqual([]);
    await writeFile(join(dest, 'junk'), 'x');
    expect(
      await codeOf(extractBundle(createReadStream(b.path), dest, { expectedManifest: b.manifestBytes })),
    ).toBe('EXTRACT_DESTINATION_NOT_EMPTY');
  });

  it('stops on an AbortSignal with a coded error and an empty destination', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    const b = await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'a.bundle') });
    const signal = AbortSignal.abort();
    const dest = join(tmp, 'slot');
    const code = await codeOf(
      extractBundle(createReadStream(b.path), dest, { expectedManifest: b.manifestBytes, signal }),
    );
    expect(code).toBe('BUNDLE_READ_ABORTED');
    expect(await readdir(dest)).toEqual([]);
  });

  it('refuses a first member that differs from the signed manifest bytes', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'));
    const b = await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'a.bundle') });
    const other = new Uint8Array(b.manifestBytes);
    other[10] = other[10] === 0x20 ? 0x21 : 0x20;
    expect(await codeOf(readBundle(createReadStream(b.path), { expectedManifest: other }))).toBe(
      'BUNDLE_MANIFEST_MISMATCH',
    );
  });

  it('reads in constant memory: chunks are streamed, not collected', async () => {
    const dir = await writeSampleAgentDir(join(tmp, 'a'), { 'big.bin': Buffer.alloc(8 * 1024 * 1024, 1) });
    const b = await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'a.bundle') });
    let largest = 0;
    const r = await readBundle(
      createReadStream(b.path, { highWaterMark: 1 << 20 }),
      { expectedManifest: b.manifestBytes },
      {
        file: () => ({
          write: (c) => {
            largest = Math.max(largest, c.byteLength);
          },
          finish: async () => undefined,
        }),
      },
    );
    expect(r.payloadBytes).toBeGreaterThan(8 * 1024 * 1024);
    expect(largest).toBeLessThanOrEqual(1 << 20);
  });
});

describe('githubProvenancePredicate', () => {
  it('names every missing variable outside Actions', () => {
    try {
      githubProvenancePredicate({ GITHUB_REPOSITORY: 'acme/agents' });
      expect.unreachable();
    } catch (err) {
      const e = err as { code: string; details: { missing: string[] } };
      expect(e.code).toBe('PROVENANCE_ENV_MISSING');
      expect(e.details.missing).toContain('GITHUB_WORKFLOW_REF');
      expect(e.details.missing).not.toContain('GITHUB_REPOSITORY');
    }
  });
});
