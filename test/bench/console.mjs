#!/usr/bin/env node
// Console throughput (not a test; nothing here is asserted). Run after `npm run build`:
//   node test/bench/console.mjs [--devices 10000] [--seconds 5] [--rounds 3] [--reports 3000]
// With DATABASE_URL set, the console runs on that PostgreSQL database instead of PGlite.
// 1. Enrolls N simulated devices (each its own Ed25519 key) over HTTP.
// 2. Opens one device session per device (docs/protocol.md "Device sessions": a signed request
//    with a fresh nonce returns a bearer token), as the updater does.
// 3. Check-ins per second with autocannon on loopback, every request a distinct device, against
//    the console and against a bare node:http server that returns the same bytes (goal: console
//    >= 0.5x bare), for the common unchanged case (304) and the changed case (200 with the
//    desired body). The measured path is the device session token (what the updater sends); the
//    signed-header path (each request a freshly signed Clawback-Device header, one Ed25519
//    verify) is measured as a second row for comparison.
// 4. Signed report ingestion per second.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
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
  sha256Hex,
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
const SECONDS = arg('seconds', 5);
// The machine may be shared: each round runs every configuration back to back, and the ratios
// are the median of the per-round ratios, so a burst of outside load skews one round, not all.
const ROUNDS = arg('rounds', 3);
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

async function signedHeader(d, path, method = 'GET', body = '') {
  const ts = new Date().toISOString();
  const msg = pae(
    'application/vnd.clawback.request+json',
    utf8(canonicalJson({ method, path, ts, bodySha256: body ? sha256Hex(body) : '' })),
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

  // Every device opens its session (what the updater does on its first run, then once an hour).
  t0 = performance.now();
  await pool(devices, 32, async (d) => {
    const path = `/api/v1/devices/${d.id}/session`;
    const body = JSON.stringify({ nonce: randomBytes(16).toString('hex') });
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: await signedHeader(d, path, 'POST', body),
      },
      body,
    });
    const out = await res.json();
    if (res.status !== 201) throw new Error(`session ${d.id}: ${res.status} ${JSON.stringify(out)}`);
    d.token = out.token;
  });
  const sessionSecs = (performance.now() - t0) / 1000;

  log('signing check-in headers…');
  const headers304 = [];
  const headers200 = [];
  const token304 = [];
  const token200 = [];
  for (const d of devices) {
    const path = `/api/v1/devices/${d.id}/desired`;
    const authorization = await signedHeader(d, path);
    headers304.push({ method: 'GET', path, headers: { authorization, 'if-none-match': d.etag } });
    headers200.push({ method: 'GET', path, headers: { authorization } });
    const bearer = `Bearer ${d.token}`;
    token304.push({ method: 'GET', path, headers: { authorization: bearer, 'if-none-match': d.etag } });
    token200.push({ method: 'GET', path, headers: { authorization: bearer } });
  }
  const replyFile = join(dir, 'reply.json');
  await writeFile(replyFile, JSON.stringify({ etag: sample.etag, body: sample.body }));
  const bare = await startServer(['bare', replyFile]);
  children.push(bare.child);
  const bareReqs304 = headers304.map((r) => ({
    ...r,
    headers: { ...r.headers, 'if-none-match': sample.etag },
  }));

  const configs = [
    ['console 304', url, token304],
    ['bare    304', bare.url, bareReqs304],
    ['console 200', url, token200],
    ['bare    200', bare.url, headers200],
    ['console 304 signed', url, headers304],
    ['console 200 signed', url, headers200],
  ];
  const rounds = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const results = {};
    for (const [name, target, reqs] of configs) {
      log(`round ${round}/${ROUNDS} autocannon: ${name} for ${SECONDS}s…`);
      results[name] = await cannon(target, reqs);
    }
    rounds.push(results);
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
  const median = (xs) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  };
  const rateOf = (name) => median(rounds.map((r) => rate(r[name])));
  const ratio = (a, b) => median(rounds.map((r) => rate(r[a]) / rate(r[b])));
  const perRound = (a, b) => rounds.map((r) => (rate(r[a]) / rate(r[b])).toFixed(2)).join(', ');
  const line = (name) => {
    const rs = rounds.map((r) => r[name]);
    const bad = rs.reduce(
      (n, r) => n + Math.max(0, r.non2xx - (name.includes('304') ? r.requests.total : 0)),
      0,
    );
    return `  ${name}: ${fmt(rateOf(name))} req/s (median of ${ROUNDS})  p50 ${median(rs.map((r) => r.latency.p50))} ms  p99 ${median(rs.map((r) => r.latency.p99))} ms  non-2xx/304: ${bad}  errors ${rs.reduce((n, r) => n + r.errors, 0)}`;
  };
  const out = [
    `console bench (${process.env.DATABASE_URL ? 'PostgreSQL' : 'PGlite'}): ${DEVICES} devices, ${ROUNDS} rounds of ${SECONDS}s per autocannon run, 32 connections, loopback, node ${process.version}`,
    `enrollment: ${DEVICES} devices in ${enrollSecs.toFixed(1)}s (${fmt(DEVICES / enrollSecs)}/s)`,
    `first fleet poll (every device once, signed header, 32 in flight, signing included): ${firstPollSecs.toFixed(1)}s (${fmt(DEVICES / firstPollSecs)} check-ins/s)`,
    `device sessions opened (signed request + nonce, 32 in flight, signing included): ${DEVICES} in ${sessionSecs.toFixed(1)}s (${fmt(DEVICES / sessionSecs)}/s)`,
    'check-ins, path = device session token (Authorization: Bearer; what the updater sends), each request a distinct device:',
    line('console 304'),
    line('bare    304'),
    `  ratio console/bare (304, unchanged): ${ratio('console 304', 'bare    304').toFixed(2)}x  (goal >= 0.5x; rounds: ${perRound('console 304', 'bare    304')})`,
    line('console 200'),
    line('bare    200'),
    `  ratio console/bare (200, changed): ${ratio('console 200', 'bare    200').toFixed(2)}x  (rounds: ${perRound('console 200', 'bare    200')})`,
    `  a full poll of ${DEVICES} devices at the console's 304 rate: ${(DEVICES / rateOf('console 304')).toFixed(2)}s`,
    'check-ins, path = signed Clawback-Device header (compatibility; one Ed25519 verify each):',
    line('console 304 signed'),
    `  ratio console/bare (304, unchanged): ${ratio('console 304 signed', 'bare    304').toFixed(2)}x  (rounds: ${perRound('console 304 signed', 'bare    304')})`,
    line('console 200 signed'),
    `  ratio console/bare (200, changed): ${ratio('console 200 signed', 'bare    200').toFixed(2)}x  (rounds: ${perRound('console 200 signed', 'bare    200')})`,
    `report ingestion: ${REPORTS} signed reports in ${(ingest.duration).toFixed(1)}s = ${fmt(REPORTS / ingest.duration)} reports/s (p50 ${ingest.latency.p50} ms, p99 ${ingest.latency.p99} ms, errors ${ingest.errors}, non-2xx ${ingest.non2xx})`,
  ];
  process.stdout.write(`${out.join('\n')}\n`);
} finally {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
}
