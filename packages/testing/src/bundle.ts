import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgentSpec,
  type BuildBundleResult,
  buildBundle,
  encodeManifest,
  MANIFEST_PATH,
  type Manifest,
  parseAgentYaml,
} from '@clawback/bundle';
import {
  encodePrivateKeyFile,
  encodePublicKeyFile,
  generateKeyPair,
  type KeyPair,
  sha256Hex,
  signerFromKeyPair,
} from '@clawback/core';
import { createProvenance, signBundleFile } from '@clawback/sign';
import { Header, Pax } from 'tar';

/** agent.yaml of the sample sensor agent (the same one examples/sensor-agent ships). */
export const SAMPLE_AGENT_YAML = `
name: com.openclaw.sensor_parser
version: 1.4.0
entrypoint: bin/sensor-agent
agent_profile:
  identifier: com.openclaw.sensor_parser
  resource_limits: { max_working_set_mb: 50, max_cpu_percent: 15, max_secure_storage_kb: 10 }
  monitoring: { heartbeat_interval_secs: 300, anomaly_reporting: true }
health:
  probation_secs: 60
  checks:
    - type: process
    - type: heartbeat
      path: run/heartbeat
compatibility:
  hardware: [rpi4-64]
  min_updater_version: 0.1.0
policy:
  path: policies/agent.yaml
  role: sensor
`;

export function sampleAgentSpec(overrides: Partial<AgentSpec> = {}): AgentSpec {
  return { ...parseAgentYaml(SAMPLE_AGENT_YAML, 'sample agent.yaml'), ...overrides };
}

/** Write a small agent directory: an executable, data files, a nested dir, an in-bundle symlink, a policy. */
export async function writeSampleAgentDir(
  dir: string,
  extraFiles: Record<string, string | Uint8Array> = {},
): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'lib', 'nested'), { recursive: true });
  await mkdir(join(dir, 'policies'), { recursive: true });
  await writeFile(join(dir, 'bin', 'sensor-agent'), '#!/bin/sh\necho sensor\n');
  await chmod(join(dir, 'bin', 'sensor-agent'), 0o755);
  await writeFile(join(dir, 'lib', 'parser.js'), 'export const parse = (s) => s.split("=");\n');
  await writeFile(join(dir, 'lib', 'nested', 'data.bin'), Buffer.alloc(70_000, 7));
  await writeFile(
    join(dir, 'policies', 'agent.yaml'),
    'version: "1"\nrules:\n  - action: "*"\n    effect: deny\n',
  );
  await symlink('lib/parser.js', join(dir, 'parser-link.js'));
  for (const [name, content] of Object.entries(extraFiles)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return dir;
}

export interface SignedBundleFixture {
  dir: string;
  bundlePath: string;
  signaturePath: string;
  build: BuildBundleResult;
  keys: KeyPair[];
  publicKeyPaths: string[];
  privateKeyPaths: string[];
}

/** Build the sample agent and sign it with `signers` fresh keys (really signed, by the project's own code). */
export async function makeSignedBundle(
  tmp: string,
  options: { signers?: number; keys?: number } = {},
): Promise<SignedBundleFixture> {
  const dir = await writeSampleAgentDir(join(tmp, 'agent'));
  const bundlePath = join(tmp, 'agent.bundle');
  const build = await buildBundle({
    dir,
    spec: sampleAgentSpec(),
    out: bundlePath,
    sourceDateEpoch: 1_700_000_000,
  });
  const keys: KeyPair[] = [];
  const publicKeyPaths: string[] = [];
  const privateKeyPaths: string[] = [];
  await mkdir(join(tmp, 'keys'), { recursive: true });
  for (let i = 0; i < (options.keys ?? 1); i++) {
    const pair = generateKeyPair();
    keys.push(pair);
    const pub = join(tmp, 'keys', `k${i}.pub`);
    const priv = join(tmp, 'keys', `k${i}.key`);
    await writeFile(pub, encodePublicKeyFile(pair.publicKey));
    await writeFile(priv, encodePrivateKeyFile(pair), { mode: 0o600 });
    publicKeyPaths.push(pub);
    privateKeyPaths.push(priv);
  }
  const signaturePath = `${bundlePath}.sig.json`;
  for (const pair of keys.slice(0, options.signers ?? keys.length)) {
    await signBundleFile({ bundlePath, signers: [signerFromKeyPair(pair)] });
  }
  return { dir, bundlePath, signaturePath, build, keys, publicKeyPaths, privateKeyPaths };
}

/** The environment a GitHub Actions runner sets, for `acme/agents` running `release.yml` on a tag. */
export function githubActionsEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    GITHUB_ACTIONS: 'true',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_REPOSITORY: 'acme/agents',
    GITHUB_REPOSITORY_ID: '123456',
    GITHUB_REPOSITORY_OWNER_ID: '7890',
    GITHUB_WORKFLOW_REF: 'acme/agents/.github/workflows/release.yml@refs/tags/v1.4.0',
    GITHUB_REF: 'refs/tags/v1.4.0',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_EVENT_NAME: 'push',
    GITHUB_RUN_ID: '4242',
    GITHUB_RUN_ATTEMPT: '1',
    RUNNER_ENVIRONMENT: 'github-hosted',
    ...overrides,
  };
}

/** Write release provenance for a fixture bundle as if in GitHub Actions. */
export async function addProvenance(fixture: SignedBundleFixture, env = githubActionsEnv()) {
  const first = fixture.keys[0];
  if (!first) throw new Error('fixture has no keys');
  return createProvenance({ bundlePath: fixture.bundlePath, signers: [signerFromKeyPair(first)], env });
}

// ---------------------------------------------------------------------------
// Hostile tars, written with the `tar` package's own Header/Pax encoders so the
// bytes are exactly what an attacker's tool would produce.

export type RawTarEntry = {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO';
  data?: Uint8Array | string;
  linkpath?: string;
  mode?: number;
  /** Force a pax header carrying the path (how long or hostile names travel). */
  pax?: boolean;
};

export function rawTar(entries: readonly RawTarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? Buffer.alloc(0) : Buffer.from(e.data);
    const type = e.type ?? 'File';
    if (e.pax) {
      parts.push(new Pax({ path: e.path, ...(e.linkpath ? { linkpath: e.linkpath } : {}) }).encode());
    }
    const block = Buffer.alloc(512);
    new Header({
      path: e.pax ? 'placeholder' : e.path,
      mode: e.mode ?? (type === 'Directory' ? 0o755 : 0o644),
      uid: 0,
      gid: 0,
      size: type === 'File' ? data.byteLength : 0,
      mtime: new Date(0),
      type,
      linkpath: e.linkpath ?? '',
      uname: 'root',
      gname: 'root',
      devmaj: type.endsWith('Device') ? 1 : 0,
      devmin: type.endsWith('Device') ? 3 : 0,
    }).encode(block, 0);
    parts.push(block);
    if (type === 'File') {
      parts.push(data, Buffer.alloc((512 - (data.byteLength % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A manifest (for hostile tars) that lists `files`; reuses the sample spec. */
export function manifestFor(files: Manifest['files']): { manifest: Manifest; bytes: Uint8Array } {
  const { policy: _p, ...spec } = sampleAgentSpec();
  const manifest: Manifest = { schema_version: 1, ...spec, files };
  return { manifest, bytes: encodeManifest(manifest) };
}

export const MANIFEST_MEMBER = MANIFEST_PATH;

/** The entrypoint file every hostile-tar manifest needs, as a manifest entry and a tar entry. */
export const ENTRYPOINT_BODY = '#!/bin/sh\necho hi\n';
export function entrypointEntries(): { file: Manifest['files'][number]; tar: RawTarEntry[] } {
  return {
    file: {
      path: 'bin/sensor-agent',
      type: 'file',
      mode: 0o755,
      size: ENTRYPOINT_BODY.length,
      sha256: sha256Hex(ENTRYPOINT_BODY),
    },
    tar: [{ path: 'bin/sensor-agent', data: ENTRYPOINT_BODY, mode: 0o755 }],
  };
}
