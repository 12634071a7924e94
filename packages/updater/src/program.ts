/**
 * `clawback-updater`: the commands a device daemon drives (docs/device-integration.md).
 * Each command is thin: parse flags, open the device root, call the exported function.
 */
import { type CommandContext, type CommandSpec, type Program, parseSince } from '@clawback/core';
import { type Device, type DeviceDeps, openDevice, UPDATER_VERSION } from './device.js';

// Command modules load on demand: `boot` runs on every start-up, before the agent, and should
// not pay for the TUF client, HTTP stack and bundle reader it never uses.
const load = {
  audit: () => import('./commands/audit.js'),
  ops: () => import('./commands/device-ops.js'),
  init: () => import('./commands/init.js'),
  reports: () => import('./commands/reports.js'),
  rotate: () => import('./commands/rotate-key.js'),
  update: () => import('./commands/update.js'),
};

export const DEFAULT_ROOT = '/var/lib/clawback';

/** Exit code of `check` when an update is available (documented in --help and docs). */
export const EXIT_UPDATE_AVAILABLE = 10;

const rootOption = {
  root: {
    type: 'string',
    valueName: 'DIR',
    description: `device root (default $CLAWBACK_ROOT or ${DEFAULT_ROOT})`,
  },
} as const;

function rootOf(ctx: CommandContext): string {
  return ctx.string('root') ?? ctx.env.CLAWBACK_ROOT ?? DEFAULT_ROOT;
}

async function open(ctx: CommandContext, deps: DeviceDeps): Promise<Device> {
  return openDevice(rootOf(ctx), {
    env: ctx.env,
    now: () => ctx.now(),
    progress: (m) => ctx.progress(m),
    ...deps,
  });
}

function lines(obj: Record<string, unknown>): string {
  return Object.entries(obj)
    .filter(([, v]) => v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0))
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('\n');
}

/** Build the program; `deps` lets tests inject seams while keeping the real CLI path. */
export function updaterProgram(deps: DeviceDeps = {}): Program {
  const commands: CommandSpec[] = [
    {
      name: 'init',
      summary: 'provision a device root: TUF trust, device key, slots, configuration',
      options: {
        ...rootOption,
        'trusted-root': { type: 'string', valueName: 'FILE', description: 'the TUF root.json to pin' },
        config: { type: 'string', valueName: 'FILE', description: 'updater.yaml (see docs/updater.md)' },
      },
      exitCodes: [{ code: 5, meaning: 'the root is already provisioned' }],
      examples: [
        'clawback-updater init --root /var/lib/clawback --trusted-root root.json --config updater.yaml',
      ],
      async run(ctx) {
        const { initDevice } = await load.init();
        const r = await initDevice({
          root: rootOf(ctx),
          trustedRoot: ctx.requireString('trusted-root'),
          config: ctx.requireString('config'),
          now: ctx.now(),
        });
        ctx.result(
          r,
          `provisioned ${r.root}\ndevice ${r.deviceId}, key ${r.deviceKeyId}\nagent ${r.agent} on ${r.channel}`,
        );
        return 0;
      },
    },
    {
      name: 'check',
      summary: 'dry run: refresh TUF metadata and say which release apply would install',
      options: {
        ...rootOption,
        version: { type: 'string', valueName: 'SEMVER', description: 'ask about this version only' },
      },
      exitCodes: [
        { code: 0, meaning: 'no update (up to date, or nothing allowed)' },
        { code: 1, meaning: 'the requested/desired release would be refused (see refused.code)' },
        { code: EXIT_UPDATE_AVAILABLE, meaning: 'an update is available' },
      ],
      async run(ctx) {
        const version = ctx.string('version');
        const { checkForUpdate } = await load.update();
        const r = await checkForUpdate(await open(ctx, deps), version ? { version } : {});
        const human = r.updateAvailable
          ? `update available: ${r.installed ?? '(none)'} -> ${r.target?.version}\nplan: ${r.plan.join(', ')}`
          : r.refused
            ? `refused ${r.target?.version}: ${r.refused.code}: ${r.refused.reason}`
            : `no update: ${r.reason ?? ''}`;
        ctx.result(r, human);
        return r.updateAvailable ? EXIT_UPDATE_AVAILABLE : r.refused ? 1 : 0;
      },
    },
    {
      name: 'apply',
      summary: 'download, verify into the inactive slot, switch, restart, probation, commit or roll back',
      options: {
        ...rootOption,
        version: {
          type: 'string',
          valueName: 'SEMVER',
          description: 'install this version (must still pass every rule)',
        },
        'no-flush': { type: 'boolean', description: 'leave reports queued (a timer flushes them)' },
      },
      exitCodes: [
        { code: 0, meaning: 'committed, or already up to date' },
        { code: 1, meaning: 'refused before install, or rolled back after probation (see reasonCode)' },
        { code: 4, meaning: 'failed: disk full, download failed, console/TUF unreachable (resumable)' },
        { code: 5, meaning: 'another updater run holds the lock' },
      ],
      async run(ctx) {
        const version = ctx.string('version');
        const { applyUpdate } = await load.update();
        const r = await applyUpdate(await open(ctx, deps), {
          ...(version ? { version } : {}),
          flush: !ctx.flag('no-flush'),
        });
        ctx.result(
          r,
          lines({ outcome: r.outcome, from: r.from, to: r.to, reasonCode: r.reasonCode, reason: r.reason }),
        );
        return r.outcome === 'committed' || r.outcome === 'up-to-date' || r.outcome === 'pending'
          ? 0
          : r.outcome === 'failed'
            ? 4
            : 1;
      },
    },
    {
      name: 'boot',
      summary: 'daemon start-up: count a trial boot; past the limit roll back (no network)',
      options: rootOption,
      exitCodes: [{ code: 1, meaning: 'the trial was rolled back at this boot' }],
      async run(ctx) {
        const { bootDevice } = await load.ops();
        const r = await bootDevice(await open(ctx, deps));
        ctx.result(
          r,
          lines({
            outcome: r.outcome,
            active: r.active,
            version: r.version,
            trialBoots: r.trialBoots,
            reasonCode: r.reasonCode,
          }),
        );
        return r.outcome === 'rolled-back' || r.outcome === 'failed' ? 1 : 0;
      },
    },
    ...['probation', 'health'].map(
      (name): CommandSpec => ({
        name,
        summary: 'run the health checks for the trial slot over its probation window; commit or roll back',
        options: rootOption,
        exitCodes: [
          { code: 0, meaning: 'healthy: committed' },
          { code: 1, meaning: 'a check failed: rolled back (health lists the measurements)' },
          { code: 5, meaning: 'no trial is on probation' },
        ],
        async run(ctx) {
          const { probationCommand } = await load.ops();
          const r = await probationCommand(await open(ctx, deps));
          ctx.result(
            r,
            lines({
              outcome: r.outcome,
              active: r.active,
              version: r.version,
              reasonCode: r.reasonCode,
              reason: r.reason,
            }),
          );
          return r.outcome === 'committed' ? 0 : 1;
        },
      }),
    ),
    {
      name: 'rollback',
      summary: 'roll back the trial, or return to the release in the other slot',
      options: {
        ...rootOption,
        reason: { type: 'string', valueName: 'TEXT', description: 'why (kept in the report and audit log)' },
      },
      exitCodes: [{ code: 5, meaning: 'nothing to roll back to, or an install is mid-way' }],
      async run(ctx) {
        const { rollbackDevice } = await load.ops();
        const r = await rollbackDevice(await open(ctx, deps), ctx.requireString('reason'));
        ctx.result(r, lines({ outcome: r.outcome, active: r.active, version: r.version }));
        return 0;
      },
    },
    {
      name: 'status',
      summary: 'installed release, active slot, any transaction, queued reports',
      options: rootOption,
      async run(ctx) {
        const { deviceStatus } = await load.ops();
        const r = await deviceStatus(await open(ctx, deps));
        ctx.result(
          r,
          lines({
            device: r.deviceId,
            agent: r.agent,
            active: r.active,
            version: r.committed?.version ?? null,
            transaction: r.transaction,
            pendingReports: r.pendingReports,
          }),
        );
        return 0;
      },
    },
    {
      name: 'enroll',
      summary: 'enroll the device key with the console',
      options: {
        ...rootOption,
        token: { type: 'string', valueName: 'TOKEN', description: 'enrollment token (or env:VAR)' },
      },
      async run(ctx) {
        const raw = ctx.string('token');
        const token = raw?.startsWith('env:') ? ctx.env[raw.slice(4)] : raw;
        const { enrollDevice } = await load.reports();
        const r = await enrollDevice(await open(ctx, deps), token);
        ctx.result(r, `enrolled ${r.deviceId}: ${r.status}`);
        return 0;
      },
    },
    {
      name: 'rotate-key',
      summary:
        'replace the device key: the console learns the new key from a statement signed by the old one',
      options: rootOption,
      exitCodes: [
        { code: 4, meaning: 'the console could not be reached (rerun: an interrupted rotation resumes)' },
      ],
      async run(ctx) {
        const { rotateDeviceKey } = await load.rotate();
        const r = await rotateDeviceKey(await open(ctx, deps));
        ctx.result(r, `device key rotated: ${r.oldKeyId} -> ${r.newKeyId}`);
        return 0;
      },
    },
    {
      name: 'heartbeat',
      summary: 'send a signed heartbeat (installed release, state, audit head) to the console',
      options: rootOption,
      exitCodes: [{ code: 4, meaning: 'the console could not be reached' }],
      async run(ctx) {
        const { sendHeartbeat } = await load.reports();
        const r = await sendHeartbeat(await open(ctx, deps));
        ctx.result(r, `heartbeat sent: ${r.installed?.version ?? '(nothing installed)'}, ${r.state}`);
        return 0;
      },
    },
    {
      name: 'reports flush',
      summary: 'POST queued signed reports to the console, in order',
      options: rootOption,
      exitCodes: [{ code: 4, meaning: 'some reports are still queued (console unreachable)' }],
      async run(ctx) {
        const { flushReports } = await load.reports();
        const r = await flushReports(await open(ctx, deps));
        ctx.result(
          r,
          `sent ${r.sent.length}, duplicates ${r.duplicates.length}, pending ${r.pending}${r.error ? ` (${r.error.code})` : ''}`,
        );
        return r.pending > 0 && r.error ? (r.error.code === 'CONSOLE_REFUSED' ? 1 : 4) : 0;
      },
    },
    {
      name: 'audit verify',
      summary: "verify the device audit log's hash chain and signed checkpoint",
      options: rootOption,
      async run(ctx) {
        const { auditVerify } = await load.audit();
        const r = await auditVerify(await open(ctx, deps));
        ctx.result(
          r,
          r.ok
            ? `audit log intact: ${r.entries} entries, checkpoint ${r.checkpoint.status}`
            : `audit log BROKEN: ${r.problems.map((p) => `${p.code}: ${p.message}`).join('; ')}`,
        );
        return r.ok ? 0 : 1;
      },
    },
    {
      name: 'audit export',
      summary: 'print audit entries since a time as JSON lines',
      options: {
        ...rootOption,
        since: {
          type: 'string',
          valueName: 'WHEN',
          description: 'ISO date, "30 days", today|week|month|quarter|year',
        },
      },
      async run(ctx) {
        const { auditExport } = await load.audit();
        const entries = await auditExport(
          await open(ctx, deps),
          parseSince(ctx.string('since') ?? '100 years', ctx.now()),
        );
        if (ctx.json) ctx.printJson(entries);
        else ctx.io.stdout.write(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
        return 0;
      },
    },
  ];
  return {
    name: 'clawback-updater',
    version: UPDATER_VERSION,
    summary: 'A/B slot updates with probation, rollback and signed reports',
    commands,
  };
}
