// Shared setup for the TUF suites: a real key ceremony, a repository made by the real
// repository code, served on 127.0.0.1, and device clients made by the real client code.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBundle } from '@clawback/bundle';
import { type KeyPair, signerFromKeyPair } from '@clawback/core';
import { type BundleVerifier, createBundleVerifier, initRepo, signBundleFile } from '@clawback/sign';
import {
  type StaticServer,
  sampleAgentSpec,
  serveDirectory,
  type TufCeremony,
  type TufCeremonyOptions,
  tufCeremony,
  writeSampleAgentDir,
} from '@clawback/testing';
import { createTufClient, type TufClient, type TufClientOptions } from '@clawback/updater';

export interface Harness {
  dir: string;
  ceremony: TufCeremony;
  repo: string;
  server: StaticServer;
  t0: Date;
  /** A device pinned to the repository's root v1. */
  device(name: string, extra?: Partial<TufClientOptions>): Promise<TufClient>;
  /** A real bundle of the sample agent as `name@version`, signed by `signer` (default the release key). */
  artifact(name: string, version: string, signer?: KeyPair): Promise<string>;
  artifactPath(name: string, version: string): Promise<string>;
  /** The verifier `clawback release add` uses: manifest signed by the targets role's release key. */
  verifier: BundleVerifier;
  close(): Promise<void>;
}

export async function makeHarness(options: TufCeremonyOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), 'clawback-tuf-'));
  const t0 = new Date();
  const ceremony = await tufCeremony(join(dir, 'keys'), options);
  const repo = join(dir, 'repo');
  await initRepo({ keysDir: ceremony.keysDir, out: repo, now: t0 });
  const server = await serveDirectory(repo);
  const rootV1 = join(dir, 'root-v1.json');
  await copyFile(join(repo, 'metadata', '1.root.json'), rootV1);
  return {
    dir,
    ceremony,
    repo,
    server,
    t0,
    async device(name, extra = {}) {
      const metadataDir = join(dir, 'devices', name, 'tuf');
      await mkdir(metadataDir, { recursive: true });
      await copyFile(rootV1, join(metadataDir, 'root.json')).catch(() => undefined);
      return createTufClient({
        metadataDir,
        metadataBaseUrl: `${server.url}/metadata`,
        targetBaseUrl: `${server.url}/targets`,
        cacheDir: join(dir, 'devices', name, 'cache'),
        fetcher: { retries: 0 },
        ...extra,
      });
    },
    async artifact(name, version, signer = ceremony.keys.release as KeyPair) {
      const out = join(dir, 'artifacts', `${name}-${version}.clawback`);
      // The same release offered twice is the same file (publishing it again must be refused).
      if (existsSync(out)) return out;
      await mkdir(join(dir, 'artifacts'), { recursive: true });
      const app = await writeSampleAgentDir(join(dir, 'artifacts', `${name}-${version}-app`));
      await buildBundle({
        dir: app,
        spec: sampleAgentSpec({ name, version }),
        out,
        sourceDateEpoch: 1_700_000_000,
      });
      await signBundleFile({ bundlePath: out, signers: [signerFromKeyPair(signer)] });
      return out;
    },
    async artifactPath(name, version) {
      return join(dir, 'artifacts', `${name}-${version}.clawback`);
    },
    verifier: createBundleVerifier({
      trustedKeys: [(ceremony.keys.release as KeyPair).publicKey],
      threshold: 1,
      now: t0,
    }),
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function days(n: number, from: Date): Date {
  return new Date(from.getTime() + n * 86_400_000);
}
