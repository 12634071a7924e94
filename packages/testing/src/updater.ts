// Device-updater test helpers: a really signed TUF repository of really signed agent bundles
// (built, signed and published by the project's own code), a static server on 127.0.0.1 that
// honours HTTP Range and can drop connections, and a small report sink speaking the report
// endpoint of docs/protocol.md that can fail, drop and restart.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, normalize, resolve, sep } from 'node:path';
import { buildBundle, MANIFEST_PAYLOAD_TYPE, parseAgentYaml } from '@clawback/bundle';
import {
  canonicalJson,
  fromBase64,
  type KeyPair,
  makePublicKey,
  type PublicKey,
  pae,
  parseDsseEnvelope,
  signDsse,
  signerFromKeyPair,
  utf8,
  verifyDsse,
  verifyEd25519,
} from '@clawback/core';
import {
  addRelease,
  createProvenance,
  initRepo,
  publishTrustRoot,
  type ReleaseSummary,
  revokeRelease,
  signBundleFile,
} from '@clawback/sign';
import { githubActionsEnv } from './bundle.js';
import { tufCeremony } from './tuf.js';

export const FIXTURE_AGENT = 'com.openclaw.sensor_parser';
export const FIXTURE_HARDWARE = 'rpi4-64';

/** A healthy agent: a shell loop touching $HEARTBEAT, so its pid stays alive and its heartbeat fresh. */
export const HEALTHY_AGENT =
  '#!/bin/sh\n[ -n "$HEARTBEAT" ] || HEARTBEAT=/dev/null\nwhile :; do : > "$HEARTBEAT"; sleep 0.2; done\n';

/** An agent that allocates and touches `mib` MiB and keeps it (a real RSS ceiling breach). */
export function memoryHogAgent(mib: number): string {
  return `#!/bin/sh\nexec node -e "globalThis.keep = Buffer.alloc(${mib} * 1024 * 1024, 1); setInterval(() => {}, 1000)"\n`;
}

export interface FixtureRelease {
  version: string;
  /** Files of the payload (path -> content); `bin/agent` is made executable. */
  files?: Record<string, string | Uint8Array>;
  /** agent.yaml `health:` block as YAML flow text. */
  health?: string;
  maxWorkingSetMb?: number;
  hardware?: string[];
  minUpdaterVersion?: string;
  channel?: string;
  /** Provenance env overrides (e.g. another repository) for provenance attacks. */
  provenanceEnv?: Record<string, string>;
  /** Replace the provenance environment entirely (e.g. `MockSigstore.actionsEnv(claims)`). */
  provenanceEnvFull?: NodeJS.ProcessEnv;
  /** Also sign the provenance keyless (mock Fulcio/Rekor) and publish the Sigstore bundle. */
  sigstore?: { fulcioURL: string; rekorURL: string; env: NodeJS.ProcessEnv };
  /** Skip provenance entirely. */
  noProvenance?: boolean;
  /** Sign the manifest with this key instead of the release key. */
  signWith?: KeyPair;
}

export function agentYaml(r: FixtureRelease): string {
  return [
    `name: ${FIXTURE_AGENT}`,
    `version: ${r.version}`,
    'entrypoint: bin/agent',
    'agent_profile:',
    `  identifier: ${FIXTURE_AGENT}`,
    `  resource_limits: { max_working_set_mb: ${r.maxWorkingSetMb ?? 64}, max_cpu_percent: 90, max_secure_storage_kb: 10 }`,
    '  monitoring: { heartbeat_interval_secs: 5, anomaly_reporting: true }',
    `health: ${r.health ?? '{ probation_secs: 1, interval_secs: 1, checks: [ { type: process } ] }'}`,
    'compatibility:',
    `  hardware: [${(r.hardware ?? [FIXTURE_HARDWARE]).join(', ')}]`,
    `  min_updater_version: ${r.minUpdaterVersion ?? '0.1.0'}`,
    '',
  ].join('\n');
}

export interface UpdaterRepoFixture {
  dir: string;
  keysDir: string;
  repo: string;
  releaseKey: KeyPair;
  releaseKeyPath: string;
  trustedRoot: string;
  /** Build, sign, attest and publish a release; returns the TUF summary and the bundle path. */
  publish(r: FixtureRelease): Promise<{ summary: ReleaseSummary; bundlePath: string }>;
  /** Build and sign a bundle without publishing it. */
  build(r: FixtureRelease): Promise<{
    bundlePath: string;
    signaturePath: string;
    provenancePath: string | null;
    sigstorePath: string | null;
  }>;
  /** Publish a Sigstore trusted_root.json as the `sigstore/trusted_root.json` target. */
  publishTrustRoot(file: string): Promise<void>;
  revoke(version: string, reason: string): Promise<void>;
  /**
   * Publish hand-assembled tar bytes (hostile bundles from `rawTar`) with a manifest
   * signature made by the release key over `manifestBytes`, and real provenance.
   */
  publishRaw(version: string, tar: Uint8Array, manifestBytes: Uint8Array): Promise<ReleaseSummary>;
}

export async function makeUpdaterRepo(dir: string, now = new Date()): Promise<UpdaterRepoFixture> {
  const keysDir = join(dir, 'keys');
  const repo = join(dir, 'repo');
  const ceremony = await tufCeremony(keysDir, { rootThreshold: 1, rootKeys: 1 });
  await initRepo({ keysDir, out: repo, now });
  const releaseKey = ceremony.keys.release as KeyPair;
  const releaseKeyPath = join(keysDir, 'release.pub');
  let n = 0;
  const build: UpdaterRepoFixture['build'] = async (r) => {
    n += 1;
    const src = join(dir, 'src', `${r.version}-${n}`);
    await mkdir(join(src, 'bin'), { recursive: true });
    const files = { 'bin/agent': HEALTHY_AGENT, ...r.files };
    for (const [p, content] of Object.entries(files)) {
      await mkdir(join(src, p, '..'), { recursive: true });
      await writeFile(join(src, p), content);
      if (p.startsWith('bin/')) await chmod(join(src, p), 0o755);
    }
    const out = join(dir, 'out', `${r.version}-${n}`);
    await mkdir(out, { recursive: true });
    const bundlePath = join(out, 'bundle.clawback');
    await buildBundle({
      dir: src,
      spec: parseAgentYaml(agentYaml(r), 'agent.yaml'),
      out: bundlePath,
      sourceDateEpoch: 1_700_000_000,
    });
    const { signaturePath } = await signBundleFile({
      bundlePath,
      signers: [signerFromKeyPair(r.signWith ?? releaseKey)],
    });
    let provenancePath: string | null = null;
    let sigstorePath: string | null = null;
    if (!r.noProvenance) {
      const env =
        r.provenanceEnvFull ??
        githubActionsEnv({ GITHUB_REF: `refs/tags/v${r.version}`, ...r.provenanceEnv });
      const p = await createProvenance({
        bundlePath,
        signers: [signerFromKeyPair(releaseKey)],
        env,
        ...(r.sigstore ? { sigstore: r.sigstore } : {}),
      });
      provenancePath = p.provenancePath;
      sigstorePath = p.sigstorePath ?? null;
    }
    return { bundlePath, signaturePath, provenancePath, sigstorePath };
  };
  return {
    dir,
    keysDir,
    repo,
    releaseKey,
    releaseKeyPath,
    trustedRoot: join(repo, 'metadata', '1.root.json'),
    build,
    async publish(r) {
      const b = await build(r);
      const summary = await addRelease({
        repo,
        keysDir,
        now,
        bundle: b.bundlePath,
        signature: b.signaturePath,
        ...(b.provenancePath ? { provenance: b.provenancePath } : {}),
        ...(b.sigstorePath ? { sigstoreBundle: b.sigstorePath } : {}),
        channel: r.channel ?? 'stable',
        // The repository accepts anything this fixture signed with any key, so attack
        // fixtures (a manifest signed by a stranger) can still be published.
        verifyBundle: async ({ signaturePath }) => {
          const env = parseDsseEnvelope(JSON.parse(await readFile(signaturePath, 'utf8')));
          const manifest = JSON.parse(
            Buffer.from(fromBase64(env.payload) ?? new Uint8Array()).toString('utf8'),
          );
          return {
            name: manifest.name,
            version: manifest.version,
            hardwareIds: manifest.compatibility.hardware,
            minUpdaterVersion: manifest.compatibility.min_updater_version,
          };
        },
      });
      return { summary, bundlePath: b.bundlePath };
    },
    async publishRaw(version, tar, manifestBytes) {
      const out = join(dir, 'out', `raw-${version}`);
      await mkdir(out, { recursive: true });
      const bundlePath = join(out, 'bundle.clawback');
      await writeFile(bundlePath, tar);
      const envelope = await signDsse(MANIFEST_PAYLOAD_TYPE, manifestBytes, [signerFromKeyPair(releaseKey)]);
      const signaturePath = `${bundlePath}.sig.json`;
      await writeFile(signaturePath, JSON.stringify(envelope));
      const env = githubActionsEnv({ GITHUB_REF: `refs/tags/v${version}` });
      const { provenancePath } = await createProvenance({
        bundlePath,
        signers: [signerFromKeyPair(releaseKey)],
        env,
      });
      return addRelease({
        repo,
        keysDir,
        now,
        bundle: bundlePath,
        signature: signaturePath,
        provenance: provenancePath,
        channel: 'stable',
        verifyBundle: async () => ({
          name: FIXTURE_AGENT,
          version,
          hardwareIds: [FIXTURE_HARDWARE],
          minUpdaterVersion: '0.1.0',
        }),
      });
    },
    async publishTrustRoot(file) {
      await publishTrustRoot({ repo, keysDir, now, file });
    },
    async revoke(version, reason) {
      await revokeRelease({ repo, keysDir, now, name: FIXTURE_AGENT, version, reason });
    },
  };
}

// ---------------------------------------------------------------------------
// A static file server with HTTP Range, byte counting and connection drops.

export interface RangeServer {
  url: string;
  /** Request paths in order. */
  requests: { path: string; range: string | null; status: number }[];
  /** Bytes written to sockets (headers and bodies) since start or the last reset. */
  bytesSent(): number;
  resetCounters(): void;
  /** Close the connection after `bytes` body bytes of the next `times` responses for `path`. */
  dropAfter(path: string, bytes: number, times?: number): void;
  /** Answer `status` to the next `times` requests for `path`. */
  failNext(path: string, status: number, times?: number): void;
  /** Serve these bytes for `path` instead of the file. */
  override(path: string, body: Uint8Array): void;
  clearOverrides(): void;
  /** Ignore Range headers (a server that always sends the whole file). */
  ignoreRange(on: boolean): void;
  close(): Promise<void>;
}

export async function serveRanged(root: string, options: { prefix?: string } = {}): Promise<RangeServer> {
  const base = resolve(root);
  const prefix = options.prefix ?? '';
  const drops = new Map<string, { bytes: number; times: number }>();
  const fails = new Map<string, { status: number; times: number }>();
  const overrides = new Map<string, Uint8Array>();
  const requests: RangeServer['requests'] = [];
  const sockets = new Set<Socket>();
  let sent = 0;
  let noRange = false;
  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    const write = s.write.bind(s);
    s.write = ((chunk: unknown, ...rest: unknown[]) => {
      sent += typeof chunk === 'string' ? Buffer.byteLength(chunk) : (chunk as Uint8Array).byteLength;
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof s.write;
    s.on('close', () => sockets.delete(s));
  });
  async function handle(req: IncomingMessage, res: ServerResponse) {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const range = typeof req.headers.range === 'string' && !noRange ? req.headers.range : null;
    const fail = fails.get(path);
    if (fail && fail.times > 0) {
      fail.times -= 1;
      requests.push({ path, range, status: fail.status });
      res.writeHead(fail.status).end();
      return;
    }
    const rel = path.startsWith(prefix) ? path.slice(prefix.length) : path;
    const file = normalize(join(base, rel));
    const override = overrides.get(path);
    let size: number;
    if (override) size = override.byteLength;
    else {
      const st = file.startsWith(base + sep) ? await stat(file).catch(() => null) : null;
      if (!st?.isFile()) {
        requests.push({ path, range, status: 404 });
        res.writeHead(404).end();
        return;
      }
      size = st.size;
    }
    let start = 0;
    let end = size - 1;
    let status = 200;
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    if (m?.[1]) {
      start = Number(m[1]);
      end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
      if (start >= size) {
        requests.push({ path, range, status: 416 });
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      status = 206;
    }
    requests.push({ path, range, status });
    const headers: Record<string, string | number> = {
      'content-type': 'application/octet-stream',
      'content-length': end - start + 1,
      'accept-ranges': 'bytes',
    };
    if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(status, headers);
    const drop = drops.get(path);
    const dropAt = drop && drop.times > 0 ? drop.bytes : null;
    if (drop && dropAt !== null) drop.times -= 1;
    const body = override
      ? [Buffer.from(override.subarray(start, end + 1))]
      : createReadStream(file, { start, end, highWaterMark: 1 << 20 });
    let written = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (dropAt !== null && written + chunk.byteLength >= dropAt) {
        const part = chunk.subarray(0, Math.max(0, dropAt - written));
        if (part.byteLength > 0) await new Promise<void>((ok) => res.write(part, () => ok()));
        res.socket?.destroy();
        return;
      }
      written += chunk.byteLength;
      if (!res.write(chunk)) await new Promise((ok) => res.once('drain', ok));
    }
    res.end();
  }
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    bytesSent: () => sent,
    resetCounters: () => {
      sent = 0;
      requests.length = 0;
    },
    dropAfter: (path, bytes, times = 1) => drops.set(path, { bytes, times }),
    failNext: (path, status, times = 1) => fails.set(path, { status, times }),
    override: (path, body) => overrides.set(path, body),
    clearOverrides: () => overrides.clear(),
    ignoreRange: (on) => {
      noRange = on;
    },
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}

// ---------------------------------------------------------------------------
// A report sink: POST /api/v1/reports as docs/protocol.md describes, idempotent by
// reportId, verifying each report's DSSE signature against the enrolled device keys.

export interface ReportSink {
  url: string;
  /** Accepted reports (payloads), first acceptance only, in arrival order. */
  reports: Record<string, unknown>[];
  /** Every POST that reached the handler: reportId and the status answered. */
  posts: { reportId: string | null; status: number }[];
  enroll(deviceId: string, key: PublicKey): void;
  /** What GET /api/v1/devices/<id>/desired answers (null: no rollout includes the device). */
  setDesired(desired: { version: string; rolloutId?: string } | null): void;
  /** Check-ins seen: status answered (200 or 304) and whether the device auth header verified. */
  checkins: { status: number; authOk: boolean }[];
  /** Key rotations accepted (the new key id). */
  rotations: { deviceId: string; keyid: string }[];
  /** Apply the next `n` key rotations but lose the response (connection destroyed). */
  dropRotateResponse(n: number): void;
  /** The key currently enrolled for a device. */
  keyOf(deviceId: string): PublicKey | undefined;
  /** Verified heartbeat payloads, in arrival order. */
  heartbeats: Record<string, unknown>[];
  /** Enrollments received (POST /api/v1/devices/enroll). */
  enrollments: { deviceId: string; token: string | null }[];
  /** Answer 503 to the next `n` report POSTs. */
  failNext(n: number): void;
  /** Destroy the connection of the next `n` report POSTs after storing them (lost response). */
  dropAfterStore(n: number): void;
  /** Destroy the connection of the next `n` report POSTs before reading them. */
  dropBeforeStore(n: number): void;
  /** Stop listening (connections refused) until `start()`. */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startReportSink(): Promise<ReportSink> {
  const keys = new Map<string, PublicKey>();
  const stored = new Map<string, Record<string, unknown>>();
  const reports: Record<string, unknown>[] = [];
  const posts: ReportSink['posts'] = [];
  let fail = 0;
  let desired: { version: string; rolloutId?: string } | null = null;
  const checkins: ReportSink['checkins'] = [];
  const enrollments: ReportSink['enrollments'] = [];
  const heartbeats: ReportSink['heartbeats'] = [];
  const rotations: ReportSink['rotations'] = [];
  let dropRotate = 0;
  let dropAfter = 0;
  let dropBefore = 0;
  const sockets = new Set<Socket>();
  const json = (res: ServerResponse, status: number, body: unknown) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const desiredPath = /^\/api\/v1\/devices\/([^/]+)\/desired$/.exec(req.url ?? '');
      if (req.method === 'GET' && desiredPath?.[1]) {
        const id = decodeURIComponent(desiredPath[1]);
        const authOk = checkDeviceAuth(req.headers.authorization, id, req.url ?? '', keys.get(id));
        if (!authOk) {
          checkins.push({ status: 401, authOk });
          return json(res, 401, { error: { code: 'SIGNATURE_INVALID', message: 'bad device signature' } });
        }
        const body = JSON.stringify({
          deviceId: id,
          desired: desired
            ? {
                agent: FIXTURE_AGENT,
                version: desired.version,
                targetPath: `${FIXTURE_AGENT}/${desired.version}/bundle.clawback`,
                rolloutId: desired.rolloutId ?? 'ro_test',
                stage: 1,
              }
            : null,
          pollAfterSecs: 300,
        });
        const etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;
        const status = req.headers['if-none-match'] === etag ? 304 : 200;
        checkins.push({ status, authOk });
        if (status === 304) return res.writeHead(304, { etag }).end();
        return res.writeHead(200, { 'content-type': 'application/json', etag }).end(body);
      }
      const heartbeatPath = /^\/api\/v1\/devices\/([^/]+)\/heartbeat$/.exec(req.url ?? '');
      if (req.method === 'POST' && heartbeatPath?.[1]) {
        const id = decodeURIComponent(heartbeatPath[1]);
        const key = keys.get(id);
        try {
          const env = parseDsseEnvelope(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          if (!key) return json(res, 404, { error: { code: 'DEVICE_UNKNOWN', message: 'enroll first' } });
          const v = verifyDsse(env, {
            trustedKeys: [key],
            threshold: 1,
            payloadType: 'application/vnd.clawback.heartbeat+json',
          });
          heartbeats.push(JSON.parse(Buffer.from(v.payload).toString('utf8')));
          return json(res, 200, { ok: true });
        } catch (err) {
          return json(res, 401, { error: { code: 'SIGNATURE_INVALID', message: (err as Error).message } });
        }
      }
      const rotatePath = /^\/api\/v1\/devices\/([^/]+)\/rotate-key$/.exec(req.url ?? '');
      if (req.method === 'POST' && rotatePath?.[1]) {
        const id = decodeURIComponent(rotatePath[1]);
        const key = keys.get(id);
        if (!key) return json(res, 404, { error: { code: 'DEVICE_UNKNOWN', message: 'enroll first' } });
        let next: PublicKey;
        try {
          const env = parseDsseEnvelope(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          // Signed by the current key only: after the rotation the old key is refused.
          const v = verifyDsse(env, {
            trustedKeys: [key],
            threshold: 1,
            payloadType: 'application/vnd.clawback.key-rotation+json',
          });
          const body = JSON.parse(Buffer.from(v.payload).toString('utf8')) as {
            deviceId: string;
            newPublicKey: { keyval: { public: string } };
          };
          if (body.deviceId !== id) throw new Error('device id mismatch');
          next = makePublicKey(Buffer.from(body.newPublicKey.keyval.public, 'hex'));
        } catch (err) {
          return json(res, 401, { error: { code: 'SIGNATURE_INVALID', message: (err as Error).message } });
        }
        keys.set(id, next);
        rotations.push({ deviceId: id, keyid: next.keyid });
        if (dropRotate > 0) {
          dropRotate -= 1;
          res.socket?.destroy();
          return;
        }
        return json(res, 200, { deviceId: id, keyid: next.keyid });
      }
      if (req.method === 'POST' && req.url === '/api/v1/devices/enroll') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          deviceId: string;
          publicKey: { keyval: { public: string } };
          enrollmentToken?: string;
        };
        const key = makePublicKey(Buffer.from(body.publicKey.keyval.public, 'hex'));
        const existing = keys.get(body.deviceId);
        if (existing && existing.keyid !== key.keyid) {
          return json(res, 409, { error: { code: 'DEVICE_KEY_CONFLICT', message: 'use key rotation' } });
        }
        keys.set(body.deviceId, key);
        enrollments.push({ deviceId: body.deviceId, token: body.enrollmentToken ?? null });
        return json(res, 201, {
          deviceId: body.deviceId,
          status: body.enrollmentToken ? 'active' : 'pending',
        });
      }
      if (req.method !== 'POST' || req.url !== '/api/v1/reports')
        return json(res, 404, { error: { code: 'NOT_FOUND' } });
      if (dropBefore > 0) {
        dropBefore -= 1;
        posts.push({ reportId: null, status: 0 });
        res.socket?.destroy();
        return;
      }
      if (fail > 0) {
        fail -= 1;
        posts.push({ reportId: null, status: 503 });
        return json(res, 503, { error: { code: 'UNAVAILABLE', message: 'try later' } });
      }
      let payload: Record<string, unknown>;
      try {
        const env = parseDsseEnvelope(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        payload = JSON.parse(Buffer.from(fromBase64(env.payload) ?? new Uint8Array()).toString('utf8'));
        const key = keys.get(String(payload.deviceId));
        if (!key) {
          posts.push({ reportId: String(payload.reportId), status: 404 });
          return json(res, 404, { error: { code: 'DEVICE_UNKNOWN', message: 'enroll first' } });
        }
        verifyDsse(env, {
          trustedKeys: [key],
          threshold: 1,
          payloadType: 'application/vnd.clawback.report+json',
        });
      } catch (err) {
        posts.push({ reportId: null, status: 401 });
        return json(res, 401, { error: { code: 'SIGNATURE_INVALID', message: (err as Error).message } });
      }
      const id = String(payload.reportId);
      const duplicate = stored.has(id);
      if (!duplicate) {
        stored.set(id, payload);
        reports.push(payload);
      }
      if (dropAfter > 0) {
        dropAfter -= 1;
        posts.push({ reportId: id, status: 0 });
        res.socket?.destroy();
        return;
      }
      posts.push({ reportId: id, status: duplicate ? 200 : 201 });
      json(res, duplicate ? 200 : 201, duplicate ? { accepted: true, duplicate: true } : { accepted: true });
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const stop = () =>
    new Promise<void>((ok) => {
      for (const s of sockets) s.destroy();
      if (!server.listening) return ok();
      server.close(() => ok());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    reports,
    posts,
    enroll: (id, key) => keys.set(id, key),
    setDesired: (d) => {
      desired = d;
    },
    checkins,
    enrollments,
    heartbeats,
    rotations,
    dropRotateResponse: (n) => {
      dropRotate = n;
    },
    keyOf: (id) => keys.get(id),
    failNext: (n) => {
      fail = n;
    },
    dropAfterStore: (n) => {
      dropAfter = n;
    },
    dropBeforeStore: (n) => {
      dropBefore = n;
    },
    stop,
    start: () => new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok)),
    close: stop,
  };
}

/** Verify `Authorization: Clawback-Device …` (docs/protocol.md "Device authentication"). */
function checkDeviceAuth(
  header: string | undefined,
  deviceId: string,
  path: string,
  key: PublicKey | undefined,
): boolean {
  if (!header || !key) return false;
  const fields = Object.fromEntries([...header.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  if (!header.startsWith('Clawback-Device ') || fields.id !== deviceId || fields.keyid !== key.keyid)
    return false;
  const ts = Date.parse(fields.ts ?? '');
  if (!Number.isFinite(ts) || Math.abs(Date.now() - ts) > 300_000) return false;
  const signed = canonicalJson({ method: 'GET', path, ts: fields.ts, bodySha256: '' });
  const sig = fromBase64(fields.sig ?? '');
  return (
    sig !== undefined && verifyEd25519(key, pae('application/vnd.clawback.request+json', utf8(signed)), sig)
  );
}

/** The updater.yaml a test device uses: loopback repository, release key, restart hook. */
export function deviceConfigYaml(o: {
  deviceId?: string;
  repoUrl: string;
  releaseKeyPath: string;
  consoleUrl?: string;
  restartHook?: string;
  provenance?: 'none' | { repository: string; workflow: string; ref: string; requireSigstore?: boolean };
  probationSecs?: number;
  extra?: string;
}): string {
  const prov =
    o.provenance === 'none'
      ? 'provenance: none'
      : `provenance: { repository: ${o.provenance?.repository ?? 'acme/agents'}, workflow: ${o.provenance?.workflow ?? '.github/workflows/release.yml'}, ref: '${o.provenance?.ref ?? 'refs/tags/v.*'}', require_sigstore: ${o.provenance?.requireSigstore === true} }`;
  return [
    `device_id: ${o.deviceId ?? 'edge-0042'}`,
    `agent: ${FIXTURE_AGENT}`,
    'channel: stable',
    `hardware_id: ${FIXTURE_HARDWARE}`,
    `repository: { metadata_url: ${o.repoUrl}/metadata, targets_url: ${o.repoUrl}/targets }`,
    `release_keys: [${o.releaseKeyPath}]`,
    'threshold: 1',
    prov,
    ...(o.consoleUrl ? [`console: { url: ${o.consoleUrl} }`] : []),
    ...(o.restartHook ? [`restart_hook: [${o.restartHook}]`] : []),
    'health:',
    `  probation_secs: ${o.probationSecs ?? 1}`,
    '  sample_interval_secs: 0.2',
    '  pid_file: agent.pid',
    '  checks: [ { type: heartbeat, path: heartbeat } ]',
    'download: { retries: 3, timeout_secs: 10 }',
    o.extra ?? '',
    '',
  ].join('\n');
}

/**
 * The restart hook a test device runs: stop the agent named in the pid file, start
 * `current/bin/agent` detached with its output closed (so the updater does not wait on it).
 */
export const RESTART_HOOK_SCRIPT = `#!/bin/sh
PIDFILE="$CLAWBACK_ROOT/agent.pid"
if [ -f "$PIDFILE" ]; then kill "$(cat "$PIDFILE")" 2>/dev/null; rm -f "$PIDFILE"; fi
rm -f "$CLAWBACK_ROOT/heartbeat"
cd "$CLAWBACK_CURRENT" || exit 1
HEARTBEAT="$CLAWBACK_ROOT/heartbeat" nohup ./bin/agent >/dev/null 2>&1 </dev/null &
echo $! > "$PIDFILE"
`;

/** Stop the agent a test device started (afterEach/afterAll). */
export async function stopDeviceAgent(root: string): Promise<void> {
  const pid = Number.parseInt(await readFile(join(root, 'agent.pid'), 'utf8').catch(() => ''), 10);
  if (Number.isInteger(pid) && pid > 0) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/**
 * A digest of a directory tree (paths, types, modes, sizes, file SHA-256, link targets),
 * for "byte-for-byte unchanged" assertions on a slot.
 */
export async function hashTree(dir: string): Promise<string> {
  const { lstat, readdir, readlink } = await import('node:fs/promises');
  const { createHash: hash } = await import('node:crypto');
  const lines: string[] = [];
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(join(dir, rel))).sort();
    for (const name of names) {
      const p = rel ? `${rel}/${name}` : name;
      const st = await lstat(join(dir, p));
      if (st.isSymbolicLink()) lines.push(`l ${p} -> ${await readlink(join(dir, p))}`);
      else if (st.isDirectory()) {
        lines.push(`d ${p} ${(st.mode & 0o7777).toString(8)}`);
        await walk(p);
      } else {
        const digest = hash('sha256')
          .update(await readFile(join(dir, p)))
          .digest('hex');
        lines.push(`f ${p} ${(st.mode & 0o7777).toString(8)} ${st.size} ${digest}`);
      }
    }
  }
  await walk('');
  return hash('sha256').update(lines.join('\n')).digest('hex');
}
