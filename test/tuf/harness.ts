// Shared setup for the TUF suites: a real key ceremony, a repository made by the real
// repository code, served on 127.0.0.1, and device clients made by the real client code.
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BundleVerifier, initRepo } from '@clawback/sign';
import {
  type StaticServer,
  serveDirectory,
  type TufCeremony,
  type TufCeremonyOptions,
  tufCeremony,
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
  /** A stand-in release artifact: bytes plus its detached-signature file. */
  artifact(name: string, version: string, body?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * The bundle verifier the repository calls. These suites test the repository and the client,
 * not bundle verification (test/release covers that), so artifacts here are small files whose
 * content names the agent and version.
 */
export const artifactVerifier: BundleVerifier = async ({ bundlePath }) => {
  const [kind, name, version] = (await readFile(bundlePath, 'utf8')).split('\n');
  if (kind !== 'test-artifact' || !name || !version) throw new Error(`${bundlePath} is not a test artifact`);
  return { name, version, hardwareIds: ['rpi4'] };
};

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
    async artifact(name, version, body = '') {
      const path = join(dir, 'artifacts', `${name}-${version}.clawback`);
      await mkdir(join(dir, 'artifacts'), { recursive: true });
      await writeFile(path, `test-artifact\n${name}\n${version}\n${body}`);
      await writeFile(`${path}.sig.json`, JSON.stringify({ signatures: [], for: `${name}@${version}` }));
      return path;
    },
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export function days(n: number, from: Date): Date {
  return new Date(from.getTime() + n * 86_400_000);
}
