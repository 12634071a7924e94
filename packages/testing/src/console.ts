// Console test helpers: a simulated device that speaks docs/protocol.md with real Ed25519
// signing (core only, so this file never imports @clawback/console and no project-reference
// cycle forms), a really signed TUF repository to register releases from, and a change record
// produced by the real `approveCheck` over a recorded GitHub scenario.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  canonicalJson,
  type DsseEnvelope,
  generateKeyPair,
  type KeyPair,
  pae,
  publicKeyJson,
  type Signer,
  signDsse,
  signerFromKeyPair,
  toBase64,
  utf8,
} from '@clawback/core';
import { addRelease, type BundleVerifier, initRepo } from '@clawback/sign';
import { approveCheckOnScenario } from './github.js';
import { tufCeremony } from './tuf.js';

export const SIM_REPORT_SCHEMA = 'https://clawback.dev/report/v1';

export interface SimDeviceOptions {
  id: string;
  hardwareId?: string;
  agent?: string;
  channel?: string;
  updaterVersion?: string;
  tags?: string[];
  keyPair?: KeyPair;
  /** Clock for signed timestamps (default: wall clock). */
  now?: () => Date;
}

export interface SimReport {
  outcome: 'committed' | 'rolled-back' | 'rejected' | 'failed';
  stage?: string;
  reasonCode?: string | null;
  reason?: string | null;
  rolloutId?: string | null;
  to?: { version: string; digest?: string; targetPath?: string };
  health?: {
    check: string;
    ok: boolean;
    measured?: number;
    limit?: number;
    unit?: string;
    message?: string;
  }[];
  reportId?: string;
}

export interface HttpResult {
  status: number;
  etag: string | null;
  body: unknown;
}

/** One device: its own key, signing every request and report as docs/protocol.md says. */
export class SimDevice {
  readonly id: string;
  readonly hardwareId: string;
  readonly agent: string;
  readonly channel: string;
  readonly updaterVersion: string;
  readonly tags: string[];
  keyPair: KeyPair;
  signer: Signer;
  etag: string | undefined;
  installed: string | null = null;
  private readonly now: () => Date;

  constructor(o: SimDeviceOptions) {
    this.id = o.id;
    this.hardwareId = o.hardwareId ?? 'rpi4';
    this.agent = o.agent ?? 'com.openclaw.sensor_parser';
    this.channel = o.channel ?? 'stable';
    this.updaterVersion = o.updaterVersion ?? '0.1.0';
    this.tags = o.tags ?? [];
    this.keyPair = o.keyPair ?? generateKeyPair();
    this.signer = signerFromKeyPair(this.keyPair);
    this.now = o.now ?? (() => new Date());
  }

  enrollmentBody(enrollmentToken?: string): Record<string, unknown> {
    return {
      deviceId: this.id,
      publicKey: publicKeyJson(this.keyPair.publicKey.bytes),
      hardwareId: this.hardwareId,
      agent: this.agent,
      channel: this.channel,
      updaterVersion: this.updaterVersion,
      tags: this.tags,
      ...(enrollmentToken ? { enrollmentToken } : {}),
    };
  }

  async enroll(base: string, enrollmentToken?: string): Promise<HttpResult> {
    return postJson(base, '/api/v1/devices/enroll', this.enrollmentBody(enrollmentToken));
  }

  /** The Authorization header for a header-signed request (protocol "Device authentication"). */
  async authHeader(
    method: string,
    path: string,
    ts = this.now().toISOString(),
    signer = this.signer,
  ): Promise<string> {
    const body = canonicalJson({ method, path, ts, bodySha256: '' });
    const sig = await signer.sign(pae('application/vnd.clawback.request+json', utf8(body)));
    return `Clawback-Device id="${this.id}", keyid="${signer.keyid}", ts="${ts}", sig="${toBase64(sig)}"`;
  }

  /** Check in; remembers the ETag so the next unchanged check-in is a 304. */
  async checkin(base: string): Promise<HttpResult> {
    const path = `/api/v1/devices/${encodeURIComponent(this.id)}/desired`;
    const res = await fetch(`${base}${path}`, {
      headers: {
        authorization: await this.authHeader('GET', path),
        ...(this.etag ? { 'if-none-match': this.etag } : {}),
      },
    });
    const text = await res.text();
    const etag = res.headers.get('etag');
    if (res.status === 200 && etag) this.etag = etag;
    return { status: res.status, etag, body: text ? JSON.parse(text) : null };
  }

  reportPayload(r: SimReport): Record<string, unknown> {
    return {
      schema: SIM_REPORT_SCHEMA,
      reportId: r.reportId ?? randomUUID(),
      deviceId: this.id,
      createdAt: this.now().toISOString(),
      agent: this.agent,
      from: this.installed ? { version: this.installed, digest: '0'.repeat(64) } : null,
      to: r.to
        ? { digest: '1'.repeat(64), targetPath: `${this.agent}/${r.to.version}/bundle.clawback`, ...r.to }
        : null,
      outcome: r.outcome,
      stage:
        r.stage ??
        (r.outcome === 'committed' ? 'commit' : r.outcome === 'rolled-back' ? 'probation' : 'verify'),
      reasonCode: r.outcome === 'committed' ? null : (r.reasonCode ?? 'HEALTH_CHECK_FAILED'),
      reason: r.outcome === 'committed' ? null : (r.reason ?? 'health check failed'),
      health: r.health ?? [],
      timings: { downloadMs: 10, verifyMs: 5, probationMs: 100, totalMs: 115 },
      rolloutId: r.rolloutId ?? null,
      policyHash: '2'.repeat(64),
      auditHead: { seq: 1, hash: '3'.repeat(64) },
      updaterVersion: this.updaterVersion,
    };
  }

  async signReport(r: SimReport | Record<string, unknown>, signer = this.signer): Promise<DsseEnvelope> {
    const payload = 'outcome' in r && 'schema' in r ? r : this.reportPayload(r as SimReport);
    return signDsse('application/vnd.clawback.report+json', utf8(JSON.stringify(payload)), [signer]);
  }

  async report(base: string, r: SimReport): Promise<HttpResult> {
    return postJson(base, '/api/v1/reports', await this.signReport(r));
  }

  async heartbeat(base: string, extra: Record<string, unknown> = {}): Promise<HttpResult> {
    const payload = {
      deviceId: this.id,
      ts: this.now().toISOString(),
      installed: this.installed ? { version: this.installed, digest: '1'.repeat(64) } : null,
      state: 'idle',
      ...extra,
    };
    const env = await signDsse('application/vnd.clawback.heartbeat+json', utf8(JSON.stringify(payload)), [
      this.signer,
    ]);
    return postJson(base, `/api/v1/devices/${encodeURIComponent(this.id)}/heartbeat`, env);
  }

  /** Rotate to a fresh key: the statement is signed with the current key (protocol "Device key rotation"). */
  async rotateKey(base: string): Promise<HttpResult> {
    const next = generateKeyPair();
    const payload = {
      deviceId: this.id,
      newPublicKey: publicKeyJson(next.publicKey.bytes),
      ts: this.now().toISOString(),
    };
    const env = await signDsse('application/vnd.clawback.key-rotation+json', utf8(JSON.stringify(payload)), [
      this.signer,
    ]);
    const res = await postJson(base, `/api/v1/devices/${encodeURIComponent(this.id)}/rotate-key`, env);
    if (res.status === 200) {
      this.keyPair = next;
      this.signer = signerFromKeyPair(next);
    }
    return res;
  }
}

export async function postJson(
  base: string,
  path: string,
  body: unknown,
  token?: string,
): Promise<HttpResult> {
  return requestJson(base, 'POST', path, body, token);
}

export async function requestJson(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  token?: string,
): Promise<HttpResult> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: res.status, etag: res.headers.get('etag'), body: parsed };
}

// ---------------------------------------------------------------------------
// A really signed TUF repository for registering releases with the console. The console never
// reads bundle bytes (it only names targets), so the published artifacts are small files whose
// content names the agent, version and compatibility, verified by the verifier below.

const artifactVerifier: BundleVerifier = async ({ bundlePath }) => {
  const [kind, name, version, hw, minUpdater] = (await readFile(bundlePath, 'utf8')).split('\n');
  if (kind !== 'console-test-artifact' || !name || !version)
    throw new Error(`${bundlePath} is not a console test artifact`);
  return {
    name,
    version,
    hardwareIds: (hw ?? '').split(',').filter(Boolean),
    ...(minUpdater ? { minUpdaterVersion: minUpdater } : {}),
  };
};

export interface ConsoleRepoRelease {
  targetPath: string;
  sha256: string;
  /** The newest signed targets metadata (what the console registers from). */
  targets: unknown;
}

export interface ConsoleRepo {
  dir: string;
  /** root.json, as an admin pins it in the console. */
  root: unknown;
  addBundle(
    name: string,
    version: string,
    o?: { hardwareIds?: string[]; minUpdaterVersion?: string; channel?: string },
  ): Promise<ConsoleRepoRelease>;
}

export async function consoleTufRepo(dir: string, now = new Date()): Promise<ConsoleRepo> {
  const ceremony = await tufCeremony(join(dir, 'keys'));
  const repo = join(dir, 'repo');
  await initRepo({ keysDir: ceremony.keysDir, out: repo, now });
  const root = JSON.parse(await readFile(join(repo, 'metadata', 'root.json'), 'utf8')) as unknown;
  return {
    dir: repo,
    root,
    async addBundle(name, version, o = {}) {
      const art = join(dir, 'artifacts', `${name}-${version}.clawback`);
      await mkdir(join(dir, 'artifacts'), { recursive: true });
      await writeFile(
        art,
        [
          'console-test-artifact',
          name,
          version,
          (o.hardwareIds ?? ['rpi4']).join(','),
          o.minUpdaterVersion ?? '',
        ].join('\n'),
      );
      await writeFile(`${art}.sig.json`, JSON.stringify({ for: `${name}@${version}` }));
      const r = await addRelease({
        repo,
        bundle: art,
        channel: o.channel ?? 'stable',
        now,
        keysDir: ceremony.keysDir,
        verifyBundle: artifactVerifier,
      });
      const files = (await readdir(join(repo, 'metadata'))).filter((f) => /^\d+\.targets\.json$/.test(f));
      const newest =
        files.sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0] ?? 'targets.json';
      const targets = JSON.parse(await readFile(join(repo, 'metadata', newest), 'utf8')) as unknown;
      return { targetPath: r.targetPath, sha256: r.sha256, targets };
    },
  };
}

/**
 * A change record for a bundle, produced by the real `approveCheck` (evidence collection over a
 * recorded GitHub scenario, the pure decision, DSSE signing) with `signer` as the release key.
 */
export async function approvedChangeRecord(
  bundle: { name: string; sha256: string },
  signer: Signer,
  scenarioName = 'approved-on-head',
): Promise<DsseEnvelope> {
  const { result } = await approveCheckOnScenario(scenarioName, { signer, bundle });
  if (!result.envelope) throw new Error('approveCheck returned no signed record');
  return result.envelope;
}
