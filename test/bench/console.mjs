#!/usr/bin/env node
// Console throughput (not a test; nothing here is asserted). Run after `npm run build`:
//   node test/bench/console.mjs [--devices 10000] [--seconds 10] [--reports 3000]
// With DATABASE_URL set, the console runs on that PostgreSQL database instead of PGlite.
// 1. Enrolls N simulated devices (each its own Ed25519 key) over HTTP.
// 2. Check-ins per second with autocannon on loopback, every request a distinct device's
//    freshly signed header, against the console and against a bare node:http server that
//    returns the same bytes (goal: console >= 0.5x bare), for the common unchanged case (304)
//    and the changed case (200 with the desired body).
// 3. Signed report ingestion per second.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import {
  canonicalJson,
  generateKeyPair,
  pae,
  publicKeyJson,
  signDsse,
  signerFromKeyPair,
  toBase64,
  utf8,
} from '../../packages/core/dist/index.js';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? dflt : Number(process.argv[i + 1]);
};
const DEVICES = arg('devices', 10_000);
const SECONDS = arg('seconds', 10);
const REPORTS = arg('reports', 3000);
const here = fileURLToPath(new URL('.', import.meta.url));
const log = (s) => process.stderr.write(`${s}\n`);

function startServer(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(here, 'console-server.mjs'), ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c) => {
      out += String(c);
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve({ url: JSON.parse(line).url, child });
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

const stop = (child) =>
  new Promise((r) => {
    child.once('exit', r);
    child.kill('SIGTERM');
  });

async function pool(items, n, fn) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i], i);
      }
    }),
  );
}

async function signedHeader(d, path) {
  const ts = new Date().toISOString();
  const msg = pae(
    'application/vnd.clawback.request+json',
    utf8(canonicalJson({ method: 'GET', path, ts, bodySha256: '' })),
  );
  return `Clawback-Device id="${d.id}", keyid="${d.signer.keyid}", ts="${ts}", sig="${toBase64(await d.signer.sign(msg))}"`;
}

function cannon(url, requests, opts = {}) {
  return new Promise((resolve, reject) => {
    let i = 0;
    const inst = autocannon(
      {
        url,
        connections: 32,
        pipelining: 1,
        ...(opts.amount ? {} : { duration: SECONDS }),
        ...opts,
        requests: [
          {
            setupRequest: (req) => {
              const r = requests[i++ % requests.length];
              return { ...req, ...r };
            },
          },
        ],
      },
      (err, res) => (err ? reject(err) : resolve(res)),
    );
    autocannon.track(inst, {
      renderProgressBar: false,
      renderResultsTable: false,
      renderLatencyTable: false,
      outputStream: process.stderr,
    });
  });
}

const fmt = (n) => Math.round(n).toLocaleString('en-US');

const dir = await mkdtemp(join(tmpdir(), 'clawback-bench-console-'));
const admin = `cbt_bench-${randomUUID()}`;
const RUN = randomUUID().slice(0, 6);
const children = [];
try {
  const { url, child } = await startServer(['console', join(dir, 'data'), admin]);
  children.push(child);
  const auth = { authorization: `Bearer ${admin}`, 'content-type': 'application/json' };
  const tok = await (
    await fetch(`${url}/api/v1/enrollment-tokens`, {
      method: 'POST',
      headers: auth,
      body: '{"name":"bench"}',
    })
  ).json();

  log(`generating ${DEVICES} device keys…`);
  const devices = Array.from({ length: DEVICES }, (_, i) => {
    const pair = generateKeyPair();
    return { id: `bench-${RUN}-${String(i).padStart(5, '0')}`, pair, signer: signerFromKeyPair(pair) };
  });
  let t0 = performance.now();
  await pool(devices, 32, async (d) => {
    const res = await fetch(`${url}/api/v1/devices/enroll`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        deviceId: d.id,
        publicKey: publicKeyJson(d.pair.publicKey.bytes),
        hardwareId: 'rpi4',
        agent: 'com.openclaw.sensor_parser',
        channel: 'stable',
        updaterVersion: '0.1.0',
        enrollmentToken: tok.token,
      }),
    });
    if (res.status !== 201) throw new Error(`enroll ${d.id}: ${res.status} ${await res.text()}`);
  });
  const enrollSecs = (performance.now() - t0) / 1000;

  // One real check-in per device: the first fleet poll, sequentially-concurrent (32 in flight).
  t0 = performance.now();
  let sample;
  await pool(devices, 32, async (d) => {
    const path = `/api/v1/devices/${d.id}/desired`;
    const res = await fetch(`${url}${path}`, { headers: { authorization: await signedHeader(d, path) } });
    d.etag = res.headers.get('etag');
    const body = await res.text();
    if (res.status !== 200) throw new Error(`check-in ${d.id}: ${res.status} ${body}`);
    sample ??= { etag: d.etag, body, path };
  });
  const firstPollSecs = (performance.now() - t0) / 1000;

  log('signing check-in headers…');
  const headers304 = [];
  const headers200 = [];
  for (const d of devices) {
    const path = `/api/v1/devices/${d.id}/desired`;
    const authorization = await signedHeader(d, path);
    headers304.push({ method: 'GET', path, headers: { authorization, 'if-none-match': d.etag } });
    headers200.push({ method: 'GET', path, headers: { authorization } });
  }
  const replyFile = join(dir, 'reply.json');
  await writeFile(replyFile, JSON.stringify({ etag: sample.etag, body: sample.body }));
  const bare = await startServer(['bare', replyFile]);
  children.push(bare.child);
  const bareReqs304 = headers304.map((r) => ({
    ...r,
    headers: { ...r.headers, 'if-none-match': sample.etag },
  }));

  const results = {};
  for (const [name, target, reqs] of [
    ['console 304', url, headers304],
    ['bare    304', bare.url, bareReqs304],
    ['console 200', url, headers200],
    ['bare    200', bare.url, headers200],
  ]) {
    log(`autocannon: ${name} for ${SECONDS}s…`);
    const r = await cannon(target, reqs);
    results[name] = r;
  }
  await stop(bare.child);

  log(`signing ${REPORTS} reports…`);
  const reports = [];
  for (let i = 0; i < REPORTS; i++) {
    const d = devices[i % devices.length];
    const payload = {
      schema: 'https://clawback.dev/report/v1',
      reportId: randomUUID(),
      deviceId: d.id,
      createdAt: new Date().toISOString(),
      agent: 'com.openclaw.sensor_parser',
      from: null,
      to: {
        version: '1.0.0',
        digest: '1'.repeat(64),
        targetPath: 'com.openclaw.sensor_parser/1.0.0/bundle.clawback',
      },
      outcome: 'committed',
      stage: 'commit',
      reasonCode: null,
      reason: null,
      health: [{ check: 'rss', ok: true, measured: 20, limit: 50, unit: 'MiB' }],
      timings: { totalMs: 1000 },
      rolloutId: null,
      policyHash: null,
      auditHead: null,
      updaterVersion: '0.1.0',
    };
    const env = await signDsse('application/vnd.clawback.report+json', utf8(JSON.stringify(payload)), [
      d.signer,
    ]);
    reports.push({
      method: 'POST',
      path: '/api/v1/reports',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(env),
    });
  }
  log('autocannon: report ingestion…');
  const ingest = await cannon(url, reports, { amount: REPORTS, connections: 16 });
  await stop(child);

  const rate = (r) => r.requests.average;
  const line = (name) => {
    const r = results[name];
    return `  ${name}: ${fmt(rate(r))} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non-2xx/304: ${Math.max(0, r.non2xx - (name.includes('304') ? r.requests.total : 0))}  errors ${r.errors}`;
  };
  const out = [
    `console bench (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}): ${DEVICES} devices, ${SECONDS}s per autocannon run, 32 connections, loopback, node ${process.version}`,
    `enrollment: ${DEVICES} devices in ${enrollSecs.toFixed(1)}s (${fmt(DEVICES / enrollSecs)}/s)`,
    `first fleet poll (every device once, 32 in flight, signing included): ${firstPollSecs.toFixed(1)}s (${fmt(DEVICES / firstPollSecs)} check-ins/s)`,
    'check-ins (each request a distinct device, signed header verified):',
    line('console 304'),
    line('bare    304'),
    `  ratio console/bare (304, unchanged): ${(rate(results['console 304']) / rate(results['bare    304'])).toFixed(2)}x  (goal >= 0.5x)`,
    line('console 200'),
    line('bare    200'),
    `  ratio console/bare (200, changed): ${(rate(results['console 200']) / rate(results['bare    200'])).toFixed(2)}x`,
    `  a full poll of ${DEVICES} devices at the console's 304 rate: ${(DEVICES / rate(results['console 304'])).toFixed(2)}s`,
    `report ingestion: ${REPORTS} signed reports in ${(ingest.duration).toFixed(1)}s = ${fmt(REPORTS / ingest.duration)} reports/s (p50 ${ingest.latency.p50} ms, p99 ${ingest.latency.p99} ms, errors ${ingest.errors}, non-2xx ${ingest.non2xx})`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}
