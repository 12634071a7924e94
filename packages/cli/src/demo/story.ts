/**
 * `clawback demo`: the whole of Clawback on one machine, on embedded defaults, with no network
 * (docs/demo.md). Build side: three approved releases and one refused change; device side:
 * five real updaters; console: staged rollouts, an automatic halt, a signed alert; audit side:
 * an evidence pack and hash-chained logs that verify offline.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { serveGitHubReplay } from '@clawback/approvals';
import { ClawbackError, type CliIo, CoreErrors } from '@clawback/core';
import { serveRepository } from '@clawback/sign';
import { type AuditOutcome, type EvidenceOutcome, evidencePack, verifyAuditLogs } from './evidence.js';
import {
  type ApplyOutcome,
  applyRound,
  committedVersion,
  type DemoConsole,
  type DemoDevice,
  provisionDevices,
  type ReceivedAlert,
  startConsole,
  startWebhookReceiver,
  stopAgent,
} from './fleet.js';
import {
  checkReproducible,
  loadRecording,
  type Pipeline,
  prepareRepository,
  RELEASES,
  type ReleaseOutcome,
  release,
  showPolicies,
  tamperedCopyRefused,
} from './pipeline.js';
import { type RolloutOutcome, rollOutReleases, roundLine } from './rollout.js';
import { clawbackRunner, expectCode, type ProcessRunner, updaterRunner } from './runner.js';

export const DEMO_DEVICES = 5;

export interface DemoOptions {
  dir?: string;
  keep: boolean;
  io: CliIo;
  say: (line: string) => void;
  /** With keep: resolves when the user is done with the dashboard (default: SIGINT/SIGTERM). */
  untilStopped?: () => Promise<void>;
}

export interface DemoResult {
  workspace: string;
  kept: boolean;
  seconds: number;
  releases: ReleaseOutcome[];
  rollouts: RolloutOutcome[];
  devices: { id: string; committed: string | null }[];
  /** What every device did when polling once more after the halt. */
  afterHalt: ApplyOutcome[];
  canary: ApplyOutcome;
  alerts: ReceivedAlert[];
  evidence: EvidenceOutcome;
  audit: AuditOutcome;
  dashboard: string | null;
}

function signals(): Promise<void> {
  return new Promise((done) => {
    process.once('SIGINT', () => done());
    process.once('SIGTERM', () => done());
  });
}

async function workspace(o: DemoOptions): Promise<string> {
  if (!o.dir) return mkdtemp(join(tmpdir(), 'clawback-demo-'));
  const dir = resolve(o.io.cwd, o.dir);
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0) {
    throw new ClawbackError(CoreErrors.USAGE, `--dir ${dir} is not empty`, {
      hint: 'Give the demo a new or empty directory; it never overwrites files.',
    });
  }
  return dir;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > until)
      throw new ClawbackError(CoreErrors.INTERNAL, `demo: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function runDemo(o: DemoOptions): Promise<DemoResult> {
  const started = Date.now();
  const say = o.say;
  const dir = await workspace(o);
  const cleanup: (() => Promise<unknown>)[] = [];
  let devices: DemoDevice[] = [];
  let installs: ProcessRunner | undefined;
  let tornDown: Promise<void> | undefined;
  // Agents run detached from this process: whatever ends the demo must stop them (once).
  const tearDown = () => {
    tornDown ??= (async () => {
      // Installs still running first (they may be about to restart an agent), then the agents.
      await installs?.stopAll();
      await Promise.all(devices.map((d) => stopAgent(d)));
      for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
      if (!o.keep && !o.dir) await rm(dir, { recursive: true, force: true });
    })();
    return tornDown;
  };
  // Ctrl-C in the middle of the story: clean up as at the end, then exit as interrupted.
  const interrupted = (signal: NodeJS.Signals) => {
    say(`\n${signal}: stopping the agents, the console and the servers…`);
    void tearDown().finally(() => process.exit(128 + (signal === 'SIGINT' ? 2 : 15)));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    say(`Clawback demo in ${dir}\n`);
    say('1. Workspace: keys, TUF repository, change policy, agent policy');
    const recording = await loadRecording();
    const github = await serveGitHubReplay(recording.exchanges);
    cleanup.push(() => github.close());
    const clawback = clawbackRunner(o.io, {});
    const updater = updaterRunner(o.io);
    installs = updater;
    const pipeline: Pipeline = {
      dir,
      clawback,
      githubEnv: { GITHUB_API_URL: github.url, GITHUB_TOKEN: 'ghs_clawbackdemo000000000000000000000000' },
      say,
    };
    await prepareRepository(pipeline);
    await showPolicies(pipeline, recording);

    say('\n2–4. Releases of examples/sensor-agent: build → approval check → sign → provenance → publish');
    const releases: ReleaseOutcome[] = [];
    for (const spec of RELEASES) {
      const r = await release(pipeline, spec, recording);
      releases.push(r);
      say(
        r.approved
          ? `  ✓ ${r.version}  PR #${r.pullRequest} approved → signed, SLSA provenance, published (${spec.story})`
          : `  ✗ ${r.version}  ${spec.story}: refused before signing (${r.failedRules.join(', ')}; the refusal is a signed change record) — skipped`,
      );
      if (releases.length === 1) {
        await checkReproducible(pipeline, r);
        say('    rebuilt from the same inputs: byte-identical bundle');
        say(`    a copy with one payload byte flipped: ${await tamperedCopyRefused(pipeline, r)}`);
      }
    }

    say('\n5. Console (embedded database), webhook receiver and five devices running clawback-updater');
    const repo = await serveRepository(join(dir, 'tuf-repo'));
    cleanup.push(() => repo.close());
    const console: DemoConsole = await startConsole(dir, join(dir, 'keys', 'approvals.pub'));
    cleanup.push(() => console.server.close());
    const hook = await startWebhookReceiver(console.server);
    cleanup.push(() => hook.close());
    const admin = { ...console.env, CLAWBACK_CONSOLE_TOKEN: console.tokens.admin };
    const root = join(dir, 'tuf-repo', 'metadata', 'root.json');
    expectCode('tuf pin', await clawback(['console', 'tuf', 'pin', root], admin), 0);
    expectCode(
      'webhook add',
      await clawback(['console', 'webhook', 'add', '--webhook-url', hook.url], admin),
      0,
    );
    devices = await provisionDevices({ dir, count: DEMO_DEVICES, repoUrl: repo.url, console, updater });
    say(`  console ${console.url}; devices ${devices.map((d) => d.id).join(', ')} enrolled`);

    say('\n6. Staged rollouts');
    const { rollouts, canary } = await rollOutReleases({
      dir,
      clawback,
      updater,
      console,
      devices,
      releases,
      say,
    });
    const bad = rollouts[2] as RolloutOutcome;
    const failed = canary.failedChecks[0];
    say(
      `  canary ${canary.device}: ${canary.outcome} (${canary.reasonCode})${failed ? ` — ${failed.check}: ${failed.measured} ${failed.unit ?? ''} > ${failed.limit}` : ''}`,
    );
    say(`  rollout halted automatically: ${bad.haltReason}`);
    const halted = await waitFor(
      'the rollout.halted alert',
      () => hook.alerts.find((a) => a.kind === 'rollout.halted' && a.rolloutId === bad.id),
      20_000,
    );
    say(
      `  alert delivered to the webhook: ${halted.kind} — ${halted.summary} (signature ${halted.signatureValid ? 'valid' : 'INVALID'})`,
    );
    say(`  alerts received: ${[...new Set(hook.alerts.map((a) => a.kind))].join(', ')}`);
    // Every device's timer fires again after the halt: the console offers 1.2.0 to nobody.
    const afterHalt = await applyRound(devices, updater);
    say(`  after the halt every device polls again: ${roundLine(afterHalt)}`);
    const after = await Promise.all(
      devices.map(async (d) => ({ id: d.id, committed: await committedVersion(d, updater) })),
    );
    say(`  devices now: ${after.map((d) => `${d.id} ${d.committed}`).join(', ')}`);

    say('\n7. Evidence for the auditor, and the audit logs');
    const evidence = await evidencePack({
      dir,
      clawback,
      pipeline,
      console,
      devices,
      started,
    });
    const s = evidence.summary;
    say(
      `  evidence pack: ${s.changes} changes, ${s.approved} approved, ${s.exceptions} exceptions, ${s.rollbacks} rollbacks; audit logs ${s.auditLogsVerified}/${s.auditLogs} verified`,
    );
    say(
      `  clawback evidence verify: ${evidence.verified ? 'every signature and hash link verifies offline' : 'DID NOT VERIFY'}`,
    );
    const audit = await verifyAuditLogs({
      dir,
      clawback,
      updater,
      console,
      device: canaryDevice(devices, canary.device),
    });
    say(
      `  device ${audit.device.id} audit log: ${audit.device.entries} entries, chain ${audit.device.ok ? 'intact' : 'BROKEN'}`,
    );
    say(
      `  console audit log: ${audit.console.entries} entries, chain and signed checkpoint ${audit.console.ok ? 'intact' : 'BROKEN'}`,
    );

    const seconds = Math.round((Date.now() - started) / 100) / 10;
    const dashboard = `${console.url}/login`;
    const refused = releases.filter((r) => !r.approved);
    say(`\n8. Summary (${seconds} s)`);
    say(
      `  releases   ${releases
        .filter((r) => r.published)
        .map((r) => r.version)
        .join(
          ', ',
        )} approved, signed, published; ${refused.map((r) => `${r.version} refused (${r.failedRules.join(', ')})`).join(', ')}`,
    );
    say(`  rollouts   ${rollouts.map((r) => `${r.version} ${r.state}`).join(', ')}`);
    say(
      `  canary     ${canary.device} rolled back 1.2.0 by itself (${canary.reasonCode}); the console halted the rollout and alerted`,
    );
    const onBad = after.filter((d) => d.committed === '1.2.0').length;
    say(
      `  fleet      ${after.filter((d) => d.committed === '1.1.0').length} of ${after.length} devices on 1.1.0; ${onBad} on 1.2.0`,
    );
    say(
      `  evidence   ${join(evidence.dir, 'index.html')} (${evidence.verified ? 'verified' : 'NOT verified'})`,
    );
    say(
      `  audit      device and console hash chains ${audit.device.ok && audit.console.ok ? 'intact' : 'BROKEN'}`,
    );
    say(`  workspace  ${dir}${o.keep || o.dir ? '' : ' (removed; keep it with --keep)'}`);
    if (o.keep) {
      say(`  dashboard  ${dashboard} — sign in with the viewer token ${console.tokens.viewer}`);
      say('  the console stays up until Ctrl-C');
    }
    const result: DemoResult = {
      workspace: dir,
      kept: o.keep || o.dir !== undefined,
      seconds,
      releases,
      rollouts,
      devices: after,
      afterHalt,
      canary,
      alerts: hook.alerts,
      evidence,
      audit,
      dashboard: o.keep ? dashboard : null,
    };
    if (o.keep) {
      process.off('SIGINT', interrupted);
      process.off('SIGTERM', interrupted);
      await (o.untilStopped ?? signals)();
      say('stopping the console, the servers and the agents…');
    }
    return result;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await tearDown();
  }
}

function canaryDevice(devices: DemoDevice[], id: string): DemoDevice {
  return devices.find((d) => d.id === id) ?? (devices[0] as DemoDevice);
}
