/**
 * The device side of the demo: the console on its embedded database, a webhook receiver
 * standing in for the on-call channel, the TUF repository served over HTTP, and five devices,
 * each a real `clawback-updater` root (own Ed25519 key, TUF client, directory slots a/b) whose
 * restart hook runs the sample agent from `current`.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  type ConsoleServer,
  changeRecordVerifier,
  createApiToken,
  createEnrollmentToken,
  openConsole,
  SIGNATURE_HEADER,
} from '@clawback/console';
import { fromBase64, loadPublicKey, verifyEd25519 } from '@clawback/core';
import { AGENT, GITHUB_REPO, HARDWARE, WORKFLOW } from './pipeline.js';
import { expectCode, parseJson, type Runner } from './runner.js';

export interface ReceivedAlert {
  kind: string;
  summary: string;
  rolloutId: string | null;
  deviceId: string | null;
  /** The body verified against the console's key (X-Clawback-Signature). */
  signatureValid: boolean;
}

export interface WebhookReceiver {
  url: string;
  alerts: ReceivedAlert[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((done) =>
    server.listen(0, '127.0.0.1', () => done((server.address() as AddressInfo).port)),
  );
}

function closeServer(server: Server): Promise<void> {
  return new Promise((done) => {
    server.closeAllConnections();
    server.close(() => done());
  });
}

/** What an on-call channel receives: the console's signed generic alert documents. */
export async function startWebhookReceiver(console: ConsoleServer): Promise<WebhookReceiver> {
  const alerts: ReceivedAlert[] = [];
  const verify = (headers: IncomingHttpHeaders, body: Buffer): boolean => {
    const sig = /sig="([^"]+)"/.exec(String(headers[SIGNATURE_HEADER] ?? ''))?.[1];
    const bytes = sig ? fromBase64(sig) : undefined;
    return bytes ? verifyEd25519(console.ctx.signer.publicKey, body, bytes) : false;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      try {
        const doc = JSON.parse(body.toString('utf8')) as Partial<ReceivedAlert>;
        alerts.push({
          kind: String(doc.kind),
          summary: String(doc.summary ?? ''),
          rolloutId: doc.rolloutId ?? null,
          deviceId: doc.deviceId ?? null,
          signatureValid: verify(req.headers, body),
        });
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/alerts`, alerts, close: () => closeServer(server) };
}

export interface DemoConsole {
  server: ConsoleServer;
  url: string;
  tokens: { admin: string; releaseManager: string; viewer: string };
  /** Environment for `clawback console …` as the release manager. */
  env: Record<string, string>;
}

export async function startConsole(dir: string, changeRecordKey: string): Promise<DemoConsole> {
  const server = await openConsole({
    dataDir: join(dir, 'console-data'),
    verifyChangeRecord: changeRecordVerifier([await loadPublicKey(changeRecordKey)]),
    pollAfterSecs: 5,
    sweepIntervalMs: 500,
    alertIntervalMs: 200,
  });
  const token = async (name: string, role: string) =>
    (await createApiToken(server.db, { name, role, now: new Date(), actor: 'clawback demo' })).token;
  const tokens = {
    admin: await token('platform-admin', 'admin'),
    releaseManager: await token('release-manager', 'release-manager'),
    viewer: await token('dashboard-viewer', 'viewer'),
  };
  const { url } = await server.listen(0, '127.0.0.1');
  return {
    server,
    url,
    tokens,
    env: { CLAWBACK_CONSOLE_URL: url, CLAWBACK_CONSOLE_TOKEN: tokens.releaseManager },
  };
}

const RESTART_HOOK = `#!/bin/sh
# Restart hook (docs/device-integration.md): stop the running agent, wait until it is gone,
# start the agent in \`current\` detached, and record its pid for probation. $1: health port.
PIDFILE="$CLAWBACK_ROOT/agent.pid"
if [ -f "$PIDFILE" ]; then
  old=$(cat "$PIDFILE")
  kill "$old" 2>/dev/null
  while kill -0 "$old" 2>/dev/null; do sleep 0.05; done
  rm -f "$PIDFILE"
fi
rm -f "$CLAWBACK_ROOT/heartbeat"
cd "$CLAWBACK_CURRENT" || exit 1
HEALTH_PORT="$1" HEARTBEAT="$CLAWBACK_ROOT/heartbeat" nohup ./bin/sensor-agent >"$CLAWBACK_ROOT/agent.log" 2>&1 </dev/null &
echo $! > "$PIDFILE"
`;

export interface DemoDevice {
  id: string;
  root: string;
  port: number;
}

async function freePort(): Promise<number> {
  const s = createServer();
  const port = await listen(s);
  await closeServer(s);
  return port;
}

function deviceConfig(o: {
  id: string;
  repoUrl: string;
  releaseKey: string;
  consoleUrl: string;
  hook: string;
  port: number;
}): string {
  return `device_id: ${o.id}
agent: ${AGENT}
channel: stable
hardware_id: ${HARDWARE}
repository: { metadata_url: ${o.repoUrl}/metadata, targets_url: ${o.repoUrl}/targets }
release_keys: [${o.releaseKey}]
threshold: 1
provenance: { repository: ${GITHUB_REPO}, workflow: ${WORKFLOW}, ref: 'refs/tags/v.*' }
console: { url: ${o.consoleUrl} }
restart_hook: [${o.hook}, '${o.port}']
health:
  sample_interval_secs: 0.25
  pid_file: agent.pid
  checks:
    - { type: heartbeat, path: heartbeat }
    - { type: http, url: 'http://127.0.0.1:${o.port}/healthz' }
download: { retries: 3, timeout_secs: 30 }
`;
}

/** Provisions and enrolls the devices (what a factory image plus first boot would do). */
export async function provisionDevices(o: {
  dir: string;
  count: number;
  repoUrl: string;
  console: DemoConsole;
  updater: Runner;
}): Promise<DemoDevice[]> {
  const hook = join(o.dir, 'restart-agent.sh');
  await writeFile(hook, RESTART_HOOK);
  await chmod(hook, 0o755);
  const { token } = await createEnrollmentToken(o.console.server.db, {
    name: 'demo-factory',
    maxUses: o.count,
    expiresInSecs: 3600,
    now: new Date(),
    actor: 'clawback demo',
  });
  const devices: DemoDevice[] = [];
  for (let i = 1; i <= o.count; i++) {
    const id = `edge-${String(i).padStart(2, '0')}`;
    const base = join(o.dir, 'devices', id);
    await mkdir(base, { recursive: true });
    const port = await freePort();
    const config = join(base, 'updater.yaml');
    const releaseKey = join(o.dir, 'keys', 'release.pub');
    await writeFile(
      config,
      deviceConfig({ id, repoUrl: o.repoUrl, releaseKey, consoleUrl: o.console.url, hook, port }),
    );
    const root = join(base, 'root');
    const trusted = join(o.dir, 'tuf-repo', 'metadata', '1.root.json');
    expectCode(
      `init ${id}`,
      await o.updater(['init', '--root', root, '--trusted-root', trusted, '--config', config]),
      0,
    );
    expectCode(`enroll ${id}`, await o.updater(['enroll', '--root', root, '--token', token]), 0);
    devices.push({ id, root, port });
  }
  return devices;
}

export interface ApplyOutcome {
  device: string;
  code: number;
  outcome: string;
  version: string | null;
  reasonCode: string | null;
  reason: string | null;
  /** The checks that failed in probation, with what was measured against which limit. */
  failedChecks: HealthSample[];
}

export interface HealthSample {
  check: string;
  ok: boolean;
  measured?: number | string | null;
  limit?: number | string | null;
  unit?: string | null;
  message?: string;
}

/** Every device's update timer fires once (in parallel, like a fleet). */
export async function applyRound(devices: DemoDevice[], updater: Runner): Promise<ApplyOutcome[]> {
  return Promise.all(
    devices.map(async (d) => {
      const r = expectCode(`apply ${d.id}`, await updater(['apply', '--root', d.root, '--json']), 0, 1);
      const doc = parseJson<{
        outcome: string;
        to: string | null;
        reasonCode: string | null;
        reason: string | null;
        health?: HealthSample[] | null;
      }>(`apply ${d.id}`, r);
      return {
        device: d.id,
        code: r.code,
        outcome: doc.outcome,
        version: doc.to,
        reasonCode: doc.reasonCode,
        reason: doc.reason,
        failedChecks: (doc.health ?? []).filter((h) => !h.ok),
      };
    }),
  );
}

export async function committedVersion(d: DemoDevice, updater: Runner): Promise<string | null> {
  const s = parseJson<{ committed?: { version?: string } | null }>(
    `status ${d.id}`,
    expectCode(`status ${d.id}`, await updater(['status', '--root', d.root, '--json']), 0),
  );
  return s.committed?.version ?? null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops the agent a device's restart hook started (the demo is its daemon's supervisor). */
export async function stopAgent(d: DemoDevice): Promise<void> {
  const pid = Number.parseInt(await readFile(join(d.root, 'agent.pid'), 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  for (let waited = 0; alive(pid) && waited < 5000; waited += 50) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}
