#!/usr/bin/env node
// Benchmark (not a test): install of a 64 MiB and a 512 MiB bundle from a loopback HTTP server.
// Measures `clawback-updater apply` (download with Range support, verify while streaming into
// the inactive slot, switch, restart hook, probation, commit, signed report) beside
//   - `tar xf` + `sync` of the same bundle file (the floor: no network, no verification), and
//   - RAUC (Debian `rauc`), when installed: `curl` of a RAUC bundle of the same payload from the
//     same server + `rauc install` into a file-backed ext4 slot (private D-Bus, noop bootloader).
// Also counts the bytes a no-update `check` transfers.
// Run after `npm run build`: node test/bench/updater.mjs [--sizes 64,512] [--runs 3]
import { spawn, spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const SIZES_MIB = opt('sizes', '64,512').split(',').map(Number);
const RUNS = Math.max(1, Number(opt('runs', '3')));
const FILES = 64;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'packages/updater/dist/clawback-updater.mjs');
const TESTING = join(ROOT, 'packages/testing/dist/index.js');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
for (const f of [BIN, TESTING]) {
  if (!existsSync(f)) {
    console.error(`bench: ${f} is missing; run \`npm run build\` first`);
    process.exit(2);
  }
}
const { makeUpdaterRepo, serveRanged, RESTART_HOOK_SCRIPT, stopDeviceAgent } = await import(TESTING);
// Run the bin exactly as its shebang would (`#!/usr/bin/env -S node <flags>`).
const SHEBANG_FLAGS = (
  /^#!\/usr\/bin\/env -S node(.*)$/m.exec(readFileSync(BIN, 'utf8').split('\n')[0] ?? '')?.[1] ?? ''
)
  .trim()
  .split(/\s+/)
  .filter(Boolean);
const UPDATER = [...SHEBANG_FLAGS, BIN];
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const RAUC = has('rauc') && has('mksquashfs') && has('mkfs.ext4') && has('dbus-daemon') && has('curl');

/** Run a command without blocking this process's loopback server; wall seconds and peak RSS (KiB). */
function measure(cmd, argv, env = {}) {
  const tfile = join(tmpdir(), `clawback-bench-time-${process.pid}-${Math.random()}`);
  const [file, full] = TIME ? [TIME, ['-o', tfile, '-f', '%M', cmd, ...argv]] : [cmd, argv];
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, full, {
      env: { ...process.env, CLAWBACK_QUIET: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.stderr.on('data', (c) => {
      err += c;
    });
    child.on('close', (code) => {
      const secs = (performance.now() - t0) / 1000;
      let rssKiB = Number.NaN;
      if (TIME && existsSync(tfile)) {
        rssKiB = Number(readFileSync(tfile, 'utf8').trim().split('\n').at(-1));
        rmSync(tfile, { force: true });
      }
      if (code !== 0)
        reject(new Error(`${cmd} ${argv.slice(0, 4).join(' ')} exited ${code}: ${err.slice(0, 600)}`));
      else resolve({ secs, rssKiB, out });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (kib) => (Number.isNaN(kib) ? 'n/a' : `${(kib / 1024).toFixed(1)} MiB`);

function payloadFiles(sizeMiB) {
  const per = Math.floor((sizeMiB * 1024 * 1024) / FILES);
  const files = {};
  for (let i = 0; i < FILES; i++)
    files[`data/part-${String(i).padStart(3, '0')}.bin`] = randomFillSync(Buffer.alloc(per));
  return files;
}

function deviceYaml(url, keyPath, hook) {
  return [
    'device_id: bench-0001',
    'agent: com.openclaw.sensor_parser',
    'channel: stable',
    'hardware_id: rpi4-64',
    `repository: { metadata_url: ${url}/metadata, targets_url: ${url}/targets }`,
    `release_keys: [${keyPath}]`,
    "provenance: { repository: acme/agents, workflow: .github/workflows/release.yml, ref: 'refs/tags/v.*' }",
    `restart_hook: [${hook}]`,
    'health: { probation_secs: 0, sample_interval_secs: 0.2, pid_file: agent.pid }',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------
// RAUC with a file-backed slot: private system bus, noop bootloader, booted slot overridden.

async function raucSetup(dir, sizeMiB, payloadDir) {
  mkdirSync(join(dir, 'content'), { recursive: true });
  mkdirSync(join(dir, 'data'), { recursive: true });
  mkdirSync(join(dir, 'mnt'), { recursive: true });
  const sh = (c) => {
    const r = spawnSync('sh', ['-c', c], { cwd: dir });
    if (r.status !== 0) throw new Error(`${c}: ${r.stderr}`);
  };
  sh(
    'openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 -subj /CN=clawback-bench 2>/dev/null',
  );
  sh(`tar cf content/rootfs.tar -C ${payloadDir} .`);
  writeFileSync(
    join(dir, 'content/manifest.raucm'),
    '[update]\ncompatible=clawback-bench\nversion=1.0.0\n[bundle]\nformat=plain\n[image.rootfs]\nfilename=rootfs.tar\n',
  );
  sh('rauc bundle --cert=cert.pem --key=key.pem content bundle.raucb >/dev/null 2>&1');
  const slotMiB = Math.ceil(sizeMiB * 1.25) + 64;
  sh(`truncate -s ${slotMiB}M slotA.img slotB.img && mkfs.ext4 -q -F slotA.img && mkfs.ext4 -q -F slotB.img`);
  writeFileSync(
    join(dir, 'system.conf'),
    [
      '[system]',
      'compatible=clawback-bench',
      'bootloader=noop',
      `data-directory=${dir}/data`,
      '[keyring]',
      `path=${dir}/cert.pem`,
      '[slot.rootfs.0]',
      `device=${dir}/slotA.img`,
      'type=ext4',
      'bootname=A',
      '[slot.rootfs.1]',
      `device=${dir}/slotB.img`,
      'type=ext4',
      'bootname=B',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${dir}/bus.sock</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_type="method_call"/><allow send_destination="*"/>
<allow send_requested_reply="true" send_type="method_return"/><allow send_requested_reply="true" send_type="error"/>
<allow receive_type="method_call"/><allow receive_type="method_return"/><allow receive_type="error"/><allow receive_type="signal"/></policy></busconfig>`,
  );
  const bus = spawn('dbus-daemon', [`--config-file=${dir}/bus.conf`, '--nofork'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 300));
  return { bus, env: { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${dir}/bus.sock` } };
}

async function raucRun(dir, env, bundleUrl) {
  // A fresh service per run so its VmHWM is this install's peak.
  const service = spawn(
    'rauc',
    ['service', `--conf=${dir}/system.conf`, `--mount=${dir}/mnt`, '--override-boot-slot=A'],
    {
      env: { ...process.env, ...env },
      stdio: 'ignore',
    },
  );
  await new Promise((r) => setTimeout(r, 500));
  const local = join(dir, 'downloaded.raucb');
  rmSync(local, { force: true });
  const t0 = performance.now();
  const dl = await measure('curl', ['-sSf', '-o', local, bundleUrl]);
  const inst = await measure('rauc', ['install', local], env);
  const secs = (performance.now() - t0) / 1000;
  const status = readFileSync(`/proc/${service.pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  service.kill('SIGTERM');
  await new Promise((r) => service.once('close', r));
  return { secs, installSecs: inst.secs, rssKiB: Math.max(hwm, dl.rssKiB, inst.rssKiB) };
}

// ---------------------------------------------------------------------------

const rows = [];
const work = mkdtempSync(join(tmpdir(), 'clawback-bench-updater-'));
try {
  let checkBytes = Number.NaN;
  for (const sizeMiB of SIZES_MIB) {
    const dir = join(work, `s${sizeMiB}`);
    const fx = await makeUpdaterRepo(join(dir, 'fx'));
    const files = payloadFiles(sizeMiB);
    const { summary, bundlePath } = await fx.publish({
      version: '1.0.0',
      files,
      health: '{ probation_secs: 1, interval_secs: 1, checks: [ { type: process } ] }',
    });
    const server = await serveRanged(fx.repo);
    const hook = join(dir, 'hook.sh');
    writeFileSync(hook, RESTART_HOOK_SCRIPT, { mode: 0o755 });
    const cfg = join(dir, 'updater.yaml');
    writeFileSync(cfg, deviceYaml(server.url, fx.releaseKeyPath, hook));
    const ours = [];
    const tars = [];
    const raucs = [];
    for (let r = 0; r < RUNS; r++) {
      const root = join(dir, `dev-${r}`);
      await measure(process.execPath, [
        ...UPDATER,
        'init',
        '--root',
        root,
        '--trusted-root',
        fx.trustedRoot,
        '--config',
        cfg,
      ]);
      const m = await measure(process.execPath, [...UPDATER, 'apply', '--root', root, '--json']);
      const result = JSON.parse(m.out);
      if (result.outcome !== 'committed') throw new Error(`apply ended ${result.outcome}: ${result.reason}`);
      ours.push(m);
      if (r === 0 && sizeMiB === SIZES_MIB[0]) {
        server.resetCounters();
        await measure(process.execPath, [...UPDATER, 'check', '--root', root, '--json']).catch((e) => {
          // exit 0 = no update; anything else is a bench failure
          throw e;
        });
        checkBytes = server.bytesSent();
      }
      await stopDeviceAgent(root);
      rmSync(root, { recursive: true, force: true });
      const out = join(dir, `tar-${r}`);
      mkdirSync(out);
      tars.push(await measure('sh', ['-c', `tar xf "${bundlePath}" -C "${out}" && sync`]));
      rmSync(out, { recursive: true, force: true });
    }
    if (RAUC) {
      const rdir = join(dir, 'rauc');
      mkdirSync(rdir);
      const payloadDir = join(dir, 'payload');
      for (const [p, data] of Object.entries(files)) {
        mkdirSync(join(payloadDir, p, '..'), { recursive: true });
        writeFileSync(join(payloadDir, p), data);
      }
      const { bus, env } = await raucSetup(rdir, sizeMiB, payloadDir);
      try {
        const rs = await serveRanged(rdir);
        for (let r = 0; r < RUNS; r++) raucs.push(await raucRun(rdir, env, `${rs.url}/bundle.raucb`));
        await rs.close();
      } finally {
        bus.kill('SIGTERM');
      }
    }
    await server.close();
    rows.push({ sizeMiB, bundleBytes: summary.length, ours, tars, raucs });
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(
    `\nclawback-updater apply: install from a loopback HTTP server (median of ${RUNS}; peak RSS = max)`,
  );
  console.log(
    'size     | clawback apply        | tar xf + sync         | RAUC curl+install (install only) | apply/tar | apply/RAUC',
  );
  for (const r of rows) {
    const w = (xs) => median(xs.map((x) => x.secs));
    const p = (xs) => Math.max(...xs.map((x) => x.rssKiB));
    const raucCol = r.raucs.length
      ? `${w(r.raucs).toFixed(2)} s (${median(r.raucs.map((x) => x.installSecs)).toFixed(2)} s), ${mib(p(r.raucs))}`
      : 'not installed';
    console.log(
      `${String(r.sizeMiB).padStart(4)} MiB | ${w(r.ours).toFixed(2)} s, ${mib(p(r.ours)).padEnd(10)} | ${w(r.tars).toFixed(2)} s, ${mib(p(r.tars)).padEnd(10)} | ${raucCol.padEnd(32)} | ${(w(r.ours) / w(r.tars)).toFixed(2)}x     | ${r.raucs.length ? `${(w(r.ours) / w(r.raucs)).toFixed(2)}x` : 'n/a'}`,
    );
  }
  const rss = rows.map((r) => Math.max(...r.ours.map((x) => x.rssKiB)) / 1024);
  console.log(
    `\ngoals: apply <= 1.0x RAUC wall; peak RSS <= 96 MiB (got ${rss.map((x) => x.toFixed(1)).join(', ')} MiB)`,
  );
  if (rss.length > 1)
    console.log(
      `       RSS growth ${SIZES_MIB[0]}->${SIZES_MIB.at(-1)} MiB: ${(rss.at(-1) - rss[0]).toFixed(1)} MiB (goal < 10 MiB)`,
    );
  console.log(`no-update \`check\`: ${checkBytes} bytes on the wire, server side (goal < 2048)`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
