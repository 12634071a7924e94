#!/usr/bin/env node
// Benchmark (not a test): bundle build+sign and verify with the real `clawback` CLI, beside `tar cf`,
// `openssl dgst -sha256` and, when installed, `mender-artifact write` / `validate -k` on the same payload.
// Run after `npm run build`: node test/bench/bundle.mjs [--sizes 64,512] [--runs 3]
// Prints the median wall time and peak RSS of each, and the ratios the issue sets as goals.
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const SIZES_MIB = opt('sizes', '64,512').split(',').map(Number);
const RUNS = Math.max(3, Number(opt('runs', '3')));
const FILES = 200;
const BIN = fileURLToPath(new URL('../../packages/cli/dist/bundle/clawback.mjs', import.meta.url));
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

if (!existsSync(BIN)) {
  console.error(`bench: ${BIN} is missing; run \`npm run build\` first`);
  process.exit(2);
}

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const MENDER = has('mender-artifact');

/** Run a command; return wall seconds and peak RSS in KiB (from /usr/bin/time, else /proc polling is skipped). */
function measure(cmd, argv, env = {}) {
  const tfile = join(tmpdir(), `clawback-bench-time-${process.pid}`);
  const full = TIME ? [TIME, ['-o', tfile, '-f', '%M', cmd, ...argv]] : [cmd, argv];
  const t0 = performance.now();
  const r = spawnSync(full[0], full[1], {
    env: { ...process.env, CLAWBACK_QUIET: '1', ...env },
    maxBuffer: 64 << 20,
  });
  const secs = (performance.now() - t0) / 1000;
  if (r.status !== 0) {
    throw new Error(
      `${cmd} ${argv.slice(0, 3).join(' ')} failed (${r.status}): ${r.stderr?.toString().slice(0, 500)}`,
    );
  }
  let rssKiB = Number.NaN;
  if (TIME) {
    rssKiB = Number(readFileSync(tfile, 'utf8').trim().split('\n').at(-1));
    rmSync(tfile, { force: true });
  }
  return { secs, rssKiB };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Repeat `fn` (which returns {secs, rssKiB}) RUNS times after `reset`; median time, max RSS. */
function bench(reset, fn) {
  const secs = [];
  const rss = [];
  for (let i = 0; i < RUNS; i++) {
    reset?.();
    const r = fn();
    secs.push(r.secs);
    rss.push(r.rssKiB);
  }
  return { secs: median(secs), rssMiB: Math.max(...rss) / 1024 };
}

/** ~200 files of random (incompressible) bytes summing to `mib` MiB, sizes varied. */
function makePayload(dir, mib) {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'bin', 'agent'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const total = mib * 1024 * 1024;
  const weights = Array.from({ length: FILES }, (_, i) => 1 + ((i * 7919) % 13));
  const sum = weights.reduce((a, b) => a + b, 0);
  const block = Buffer.allocUnsafe(1 << 20);
  const paths = [];
  let written = 0;
  weights.forEach((w, i) => {
    const size = i === FILES - 1 ? total - written : Math.floor((total * w) / sum);
    const sub = join(dir, 'data', `d${i % 10}`);
    mkdirSync(sub, { recursive: true });
    const p = join(sub, `f${String(i).padStart(3, '0')}.bin`);
    const fd = openSync(p, 'w');
    for (let left = size; left > 0; ) {
      const n = Math.min(left, block.length);
      randomFillSync(block, 0, n);
      writeSync(fd, block, 0, n);
      left -= n;
    }
    closeSync(fd);
    paths.push(p);
    written += size;
  });
  return paths;
}

/** A simulated GitHub Actions run, so `clawback provenance` has its inputs. */
const GITHUB_ENV = {
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/agents',
  GITHUB_REPOSITORY_ID: '1',
  GITHUB_REPOSITORY_OWNER_ID: '2',
  GITHUB_WORKFLOW_REF: 'acme/agents/.github/workflows/release.yml@refs/tags/v1.0.0',
  GITHUB_REF: 'refs/tags/v1.0.0',
  GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_RUN_ID: '1',
  GITHUB_RUN_ATTEMPT: '1',
  RUNNER_ENVIRONMENT: 'github-hosted',
};

const AGENT_YAML = `name: com.example.bench
version: 1.0.0
entrypoint: bin/agent
agent_profile:
  identifier: com.example.bench
  resource_limits: { max_working_set_mb: 50, max_cpu_percent: 15, max_secure_storage_kb: 10 }
  monitoring: { heartbeat_interval_secs: 300, anomaly_reporting: true }
compatibility: { hardware: [bench-board] }
`;

function runSize(root, mib) {
  const work = join(root, `${mib}`);
  const payload = join(work, 'payload');
  const files = makePayload(payload, mib);
  writeFileSync(join(work, 'agent.yaml'), AGENT_YAML);
  const bundle = join(work, 'agent.bundle');
  const cb = (...a) => measure(process.execPath, [BIN, ...a], GITHUB_ENV);
  cb('keys', 'generate', '--out', join(work, 'keys'), '--name', 'release');
  const key = join(work, 'keys', 'release.key');
  const pub = join(work, 'keys', 'release.pub');
  const rmBundle = () => {
    rmSync(bundle, { force: true });
    rmSync(`${bundle}.sig.json`, { force: true });
  };
  const results = {};
  // One process: `bundle build --key` builds and signs, as the release workflow runs it.
  results['clawback build+sign'] = bench(rmBundle, () =>
    cb('bundle', 'build', payload, '--manifest', join(work, 'agent.yaml'), '--out', bundle, '--key', key),
  );
  // Two processes, as separate key holders sign: `bundle build`, then `bundle sign`.
  results['clawback build, then sign'] = bench(rmBundle, () => {
    const b = cb('bundle', 'build', payload, '--manifest', join(work, 'agent.yaml'), '--out', bundle);
    const s = cb('bundle', 'sign', bundle, '--key', key);
    return { secs: b.secs + s.secs, rssKiB: Math.max(b.rssKiB, s.rssKiB) };
  });
  results['clawback verify'] = bench(undefined, () => cb('bundle', 'verify', bundle, '--trusted-key', pub));
  const prov = join(work, 'prov.json');
  cb('provenance', bundle, '--key', key, '--out', prov);
  results['clawback verify +provenance'] = bench(undefined, () =>
    cb(
      'bundle',
      'verify',
      bundle,
      '--trusted-key',
      pub,
      '--provenance',
      prov,
      '--expect-repo',
      'acme/agents',
    ),
  );
  results['clawback --version (startup)'] = bench(undefined, () => cb('--version'));
  const tarOut = join(work, 'plain.tar');
  results['tar cf'] = bench(
    () => rmSync(tarOut, { force: true }),
    () => measure('tar', ['cf', tarOut, '-C', payload, '.']),
  );
  rmSync(tarOut, { force: true });
  results['openssl dgst -sha256'] = bench(undefined, () => measure('openssl', ['dgst', '-sha256', ...files]));
  if (MENDER) {
    // mender-artifact reads SEC1 ("EC PRIVATE KEY") P-256 keys, as its docs generate them.
    const mkey = join(work, 'mender.key');
    const mpub = join(work, 'mender.pub');
    measure('openssl', ['ecparam', '-genkey', '-name', 'prime256v1', '-noout', '-out', mkey]);
    measure('openssl', ['ec', '-in', mkey, '-pubout', '-out', mpub]);
    const art = join(work, 'agent.mender');
    const fileArgs = [join(payload, 'bin', 'agent'), ...files].flatMap((f) => ['-f', f]);
    results['mender-artifact write'] = bench(
      () => rmSync(art, { force: true }),
      () =>
        measure('mender-artifact', [
          'write',
          'module-image',
          '-T',
          'clawback',
          '-n',
          'bench',
          '-t',
          'bench-board',
          '--compression',
          'none',
          '-k',
          mkey,
          '-o',
          art,
          ...fileArgs,
        ]),
    );
    results['mender-artifact validate -k'] = bench(undefined, () =>
      measure('mender-artifact', ['validate', '-k', mpub, art]),
    );
  }
  rmSync(work, { recursive: true, force: true });
  return results;
}

const root = mkdtempSync(join(tmpdir(), 'clawback-bench-'));
const all = {};
try {
  console.log(
    `clawback bundle benchmark: ${FILES} files of random bytes, median of ${RUNS} runs; peak RSS via ${TIME ?? '(no /usr/bin/time: RSS not measured)'}`,
  );
  if (!MENDER) console.log('mender-artifact: not installed (Debian: apt-get install mender-artifact)');
  for (const mib of SIZES_MIB) {
    console.error(`bench: ${mib} MiB ...`);
    all[mib] = runSize(root, mib);
    console.log(`\n== ${mib} MiB payload ==`);
    console.log(`${'command'.padEnd(30)} ${'median s'.padStart(9)} ${'peak RSS MiB'.padStart(13)}`);
    for (const [name, r] of Object.entries(all[mib])) {
      console.log(`${name.padEnd(30)} ${r.secs.toFixed(3).padStart(9)} ${r.rssMiB.toFixed(1).padStart(13)}`);
    }
    const r = all[mib];
    const ratio = (a, b) => (r[a] && r[b] ? (r[a].secs / r[b].secs).toFixed(2) : 'n/a');
    console.log(
      `ratio verify / mender-artifact validate -k: ${ratio('clawback verify', 'mender-artifact validate -k')}  (goal <= 1.0 at 512 MiB)`,
    );
    console.log(
      `ratio build+sign / mender-artifact write:   ${ratio('clawback build+sign', 'mender-artifact write')}  (goal <= 1.5)`,
    );
    console.log(
      `ratio verify / openssl dgst -sha256:         ${ratio('clawback verify', 'openssl dgst -sha256')}`,
    );
    console.log(`ratio build+sign / tar cf:                   ${ratio('clawback build+sign', 'tar cf')}`);
    // Informative only: how much of the gap is the CLI loading its modules rather than bundle work.
    const start = r['clawback --version (startup)'];
    const net = (a, b) => (r[a] && r[b] && start ? ((r[a].secs - start.secs) / r[b].secs).toFixed(2) : 'n/a');
    console.log(
      `  net of CLI start-up: verify ${net('clawback verify', 'mender-artifact validate -k')}, build+sign ${net('clawback build+sign', 'mender-artifact write')}`,
    );
  }
  const [lo, hi] = [SIZES_MIB[0], SIZES_MIB.at(-1)];
  if (lo !== hi) {
    for (const name of ['clawback build+sign', 'clawback verify', 'clawback verify +provenance']) {
      const growth = all[hi][name].rssMiB - all[lo][name].rssMiB;
      console.log(
        `peak RSS growth ${name} ${lo}->${hi} MiB: ${growth.toFixed(1)} MiB (goal < 10; peak goal <= 96 MiB)`,
      );
    }
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
