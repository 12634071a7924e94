/**
 * Operator commands over the console API added for the runbooks: device retire / re-bind,
 * token and enrollment-token listing, alerts, failures, the audit trail, releases, change
 * records and a rollout's devices. Each is a thin client of one endpoint (docs/console.md).
 */
import { resolve } from 'node:path';
import { type CommandContext, loadPublicKey, publicKeyJson } from '@clawback/core';
import { apiCommand, callApi } from './cli-api.js';
import { readJsonFile } from './cli-shared.js';

const enc = encodeURIComponent;
const LIMIT = {
  limit: { type: 'string', valueName: 'N', description: 'how many, newest first (default 50)' },
} as const;

function table(rows: string[][], empty: string): string {
  return rows.length === 0 ? empty : rows.map((r) => r.join('\t')).join('\n');
}

function keyRef(ctx: CommandContext, ref: string): string {
  return ref.startsWith('env:') ? ref : resolve(ctx.io.cwd, ref);
}

interface AlertRow {
  id: string;
  kind: string;
  rollout_id: string | null;
  device_id: string | null;
  summary: string;
  created_at: string;
}

export const opsCommands = [
  apiCommand(
    'device retire',
    'retire (decommission) a device: its sessions end, its check-ins and reports are refused (admin)',
    [{ name: 'DEVICE', description: 'device id' }],
    { reason: { type: 'string', valueName: 'TEXT', description: 'why (recorded in the audit log)' } },
    async (ctx) => {
      const reason = ctx.string('reason');
      const v = (await callApi(ctx, 'POST', `/api/v1/devices/${enc(ctx.requireArg(0))}/retire`, {
        ...(reason ? { reason } : {}),
      })) as { changed: boolean; sessionsRevoked: number; rollouts: string[] };
      return {
        value: v,
        human: v.changed
          ? `retired ${ctx.requireArg(0)} (${v.sessionsRevoked} session(s) revoked${v.rollouts.length ? `; closed its place in ${v.rollouts.join(', ')}` : ''})`
          : `${ctx.requireArg(0)} was already retired`,
      };
    },
    ['clawback-console device retire edge-0042 --reason "hardware returned"'],
  ),
  apiCommand(
    'device rebind',
    'bind a device id to a new public key after re-provisioning, when the old key is lost (admin)',
    [{ name: 'DEVICE', description: 'device id' }],
    {
      'public-key': {
        type: 'string',
        valueName: 'REF',
        description: "the device's new public key (its device-key.pub.json, or env:VAR)",
      },
      reason: { type: 'string', valueName: 'TEXT', description: 'why (recorded in the audit log)' },
    },
    async (ctx) => {
      const key = await loadPublicKey(keyRef(ctx, ctx.requireString('public-key')), ctx.env);
      const reason = ctx.string('reason');
      const v = (await callApi(ctx, 'POST', `/api/v1/devices/${enc(ctx.requireArg(0))}/rebind`, {
        publicKey: publicKeyJson(key.bytes),
        ...(reason ? { reason } : {}),
      })) as { keyid: string; previousKeyid: string; sessionsRevoked: number };
      return {
        value: v,
        human: `${ctx.requireArg(0)} is bound to key ${v.keyid} (was ${v.previousKeyid}; ${v.sessionsRevoked} session(s) revoked)`,
      };
    },
    [
      'clawback-console device rebind edge-0042 --public-key root/device-key.pub.json --reason re-provisioned',
    ],
  ),
  apiCommand('token list', 'list API tokens: name, role, revoked (admin)', undefined, {}, async (ctx) => {
    const v = (await callApi(ctx, 'GET', '/api/v1/tokens')) as {
      tokens: { name: string; role: string; createdAt: string; revoked: boolean }[];
    };
    return {
      value: v,
      human: table(
        v.tokens.map((t) => [t.name, t.role, t.createdAt, t.revoked ? 'revoked' : 'active']),
        'no tokens',
      ),
    };
  }),
  apiCommand(
    'enroll-token list',
    'list enrollment tokens with their uses (admin)',
    undefined,
    {},
    async (ctx) => {
      const v = (await callApi(ctx, 'GET', '/api/v1/enrollment-tokens')) as {
        tokens: {
          name: string;
          uses: number;
          maxUses: number | null;
          expiresAt: string | null;
          revoked: boolean;
        }[];
      };
      return {
        value: v,
        human: table(
          v.tokens.map((t) => [
            t.name,
            `${t.uses}/${t.maxUses ?? '∞'} uses`,
            t.expiresAt ?? 'no expiry',
            t.revoked ? 'revoked' : 'active',
          ]),
          'no enrollment tokens',
        ),
      };
    },
  ),
  apiCommand(
    'alert list',
    'list recent alerts (failed update, rollback, halt, silent device)',
    undefined,
    LIMIT,
    async (ctx) => {
      const limit = ctx.integer('limit', { min: 1, max: 200 }) ?? 50;
      const v = (await callApi(ctx, 'GET', '/api/v1/alerts')) as { alerts: AlertRow[] };
      const alerts = v.alerts.slice(0, limit);
      return {
        value: { alerts },
        human: table(
          alerts.map((a) => [new Date(a.created_at).toISOString(), a.kind, a.summary]),
          'no alerts',
        ),
      };
    },
  ),
  apiCommand(
    'failure list',
    "list recent failed, rolled-back and rejected updates with the device's reason",
    undefined,
    LIMIT,
    async (ctx) => {
      const limit = ctx.integer('limit', { min: 1, max: 100 }) ?? 50;
      const v = (await callApi(ctx, 'GET', '/api/v1/failures')) as {
        failures: {
          deviceId: string;
          version: string | null;
          outcome: string;
          stage: string;
          reasonCode: string | null;
          receivedAt: string;
        }[];
      };
      const failures = v.failures.slice(0, limit);
      return {
        value: { failures },
        human: table(
          failures.map((f) => [
            f.receivedAt,
            f.deviceId,
            f.version ?? '-',
            f.outcome,
            f.stage,
            f.reasonCode ?? '-',
          ]),
          'no failures',
        ),
      };
    },
  ),
  apiCommand(
    'audit show',
    "show the newest entries of the console's audit log",
    undefined,
    LIMIT,
    async (ctx) => {
      const limit = ctx.integer('limit', { min: 1, max: 1000 }) ?? 50;
      const v = (await callApi(ctx, 'GET', `/api/v1/audit?limit=${limit}`)) as {
        entries: { seq: number; ts: string; kind: string; actor?: string }[];
      };
      return {
        value: v,
        human: table(
          v.entries.map((e) => [String(e.seq), e.ts, e.kind, e.actor ?? '']),
          'the audit log is empty',
        ),
      };
    },
  ),
  apiCommand(
    'release list',
    'list registered releases and whether each can be rolled out',
    undefined,
    {},
    async (ctx) => {
      const v = (await callApi(ctx, 'GET', '/api/v1/releases')) as {
        releases: { id: string; agent: string; version: string; change_problem: string | null }[];
      };
      return {
        value: v,
        human: table(
          v.releases.map((r) => [
            r.id,
            r.agent,
            r.version,
            r.change_problem ? `cannot roll out: ${r.change_problem}` : 'change record ok',
          ]),
          'no releases',
        ),
      };
    },
  ),
  apiCommand(
    'release attach-record',
    "attach a signed change record to a registered release (checked against the release's bundle)",
    [{ name: 'RELEASE', description: 'release id (rel_…)' }],
    {
      'change-record': {
        type: 'string',
        valueName: 'FILE',
        description: 'signed change record from `clawback approve`',
      },
    },
    async (ctx) => {
      const v = (await callApi(ctx, 'POST', `/api/v1/releases/${enc(ctx.requireArg(0))}/change-record`, {
        changeRecord: await readJsonFile(ctx, ctx.requireString('change-record')),
      })) as { ok: boolean };
      return { value: v, human: `attached the change record to ${ctx.requireArg(0)}` };
    },
  ),
  apiCommand(
    'rollout devices',
    "list a rollout's target devices by stage, with each one's status",
    [{ name: 'ID', description: 'rollout id (ro_…)' }],
    {},
    async (ctx) => {
      const v = (await callApi(ctx, 'GET', `/api/v1/rollouts/${enc(ctx.requireArg(0))}/devices`)) as {
        devices: {
          deviceId: string;
          stage: number;
          hardwareId: string;
          status: string;
          installedVersion: string | null;
          reasonCode: string | null;
        }[];
      };
      return {
        value: v,
        human: table(
          v.devices.map((d) => [
            `stage ${d.stage}`,
            d.deviceId,
            d.hardwareId,
            d.status,
            d.installedVersion ?? '-',
            d.reasonCode ?? '',
          ]),
          'no devices',
        ),
      };
    },
  ),
];
