/** Thin HTTP clients of the console API for release managers and admins. */
import { ClawbackError, type CommandContext, type CommandSpec } from '@clawback/core';
import { readJsonFile } from './cli-shared.js';
import { ConsoleErrors } from './errors.js';

const API_OPTIONS = {
  url: {
    type: 'string',
    valueName: 'URL',
    description: 'console URL (default $CLAWBACK_CONSOLE_URL or http://127.0.0.1:8700)',
  },
} as const;
const TOKEN_NOTE = 'The API token is read from CLAWBACK_CONSOLE_TOKEN (never from the command line).';

/** Call the API; an error response becomes the same coded error the server raised. */
export async function callApi(
  ctx: CommandContext,
  method: string,
  path: string,
  body?: unknown,
): Promise<unknown> {
  const base = (ctx.string('url') ?? ctx.env.CLAWBACK_CONSOLE_URL ?? 'http://127.0.0.1:8700').replace(
    /\/$/,
    '',
  );
  const token = ctx.env.CLAWBACK_CONSOLE_TOKEN;
  if (!token) {
    throw new ClawbackError('ENV_MISSING', 'CLAWBACK_CONSOLE_TOKEN is not set', {
      hint: 'Export an API token created with `clawback-console token create`.',
    });
  }
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (cause) {
    throw new ClawbackError(
      ConsoleErrors.CONSOLE_API_FAILED,
      `could not reach the console at ${base}: ${(cause as Error).message}`,
      {
        cause,
        hint: 'Check --url and that the console is running.',
      },
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { raw: text };
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string; hint?: string } }).error;
    throw new ClawbackError(e?.code ?? ConsoleErrors.CONSOLE_API_FAILED, e?.message ?? `HTTP ${res.status}`, {
      hint: e?.hint ?? 'See the console log.',
    });
  }
  return json;
}

export function apiCommand(
  name: string,
  summary: string,
  args: CommandSpec['args'],
  options: CommandSpec['options'],
  call: (ctx: CommandContext) => Promise<{ value: unknown; human: string }>,
  examples: string[] = [],
): CommandSpec {
  return {
    name,
    summary,
    description: TOKEN_NOTE,
    ...(args ? { args } : {}),
    options: { ...API_OPTIONS, ...(options ?? {}) },
    examples,
    async run(ctx) {
      const { value, human } = await call(ctx);
      ctx.result(value, human);
      return 0;
    },
  };
}

const ID = [{ name: 'ID', description: 'rollout id (ro_…)' }];

export const apiCommands: CommandSpec[] = [
  apiCommand('device list', 'list enrolled devices', undefined, {}, async (ctx) => {
    const v = (await callApi(ctx, 'GET', '/api/v1/devices')) as {
      devices: { id: string; status: string; installedVersion: string | null; health: string }[];
    };
    return {
      value: v,
      human:
        v.devices.map((d) => `${d.id}\t${d.status}\t${d.installedVersion ?? '-'}\t${d.health}`).join('\n') ||
        'no devices',
    };
  }),
  apiCommand(
    'device approve',
    'approve a device that enrolled without a token',
    [{ name: 'DEVICE', description: 'device id' }],
    {},
    async (ctx) => {
      const v = await callApi(
        ctx,
        'POST',
        `/api/v1/devices/${encodeURIComponent(ctx.requireArg(0))}/approve`,
      );
      return { value: v, human: `approved ${ctx.requireArg(0)}` };
    },
  ),
  apiCommand(
    'tuf pin',
    "pin (or rotate) the TUF repository's root",
    [{ name: 'ROOT', description: 'root.json of the repository' }],
    {},
    async (ctx) => {
      const v = (await callApi(
        ctx,
        'PUT',
        '/api/v1/tuf/root',
        await readJsonFile(ctx, ctx.requireArg(0)),
      )) as { version: number };
      return { value: v, human: `pinned root version ${v.version}` };
    },
  ),
  apiCommand(
    'release register',
    'register a bundle target from signed targets metadata, with its change record',
    undefined,
    {
      targets: {
        type: 'string',
        valueName: 'FILE',
        description: 'the repository targets metadata (metadata/N.targets.json)',
      },
      target: {
        type: 'string',
        valueName: 'PATH',
        description: 'bundle target path, e.g. com.example.agent/1.2.0/bundle.clawback',
      },
      'change-record': {
        type: 'string',
        valueName: 'FILE',
        description: 'signed change record from `clawback approve`',
      },
    },
    async (ctx) => {
      const record = ctx.string('change-record');
      const v = (await callApi(ctx, 'POST', '/api/v1/releases', {
        targets: await readJsonFile(ctx, ctx.requireString('targets')),
        targetPath: ctx.requireString('target'),
        ...(record ? { changeRecord: await readJsonFile(ctx, record) } : {}),
      })) as { id: string; changeRecord: { ok: boolean; problem?: string } };
      return {
        value: v,
        human: `registered ${v.id}${v.changeRecord.ok ? '' : ` (cannot roll out: ${v.changeRecord.problem})`}`,
      };
    },
  ),
  apiCommand(
    'rollout create',
    'plan a staged rollout of a release (use --dry-run to only show the plan)',
    undefined,
    {
      release: { type: 'string', valueName: 'ID', description: 'release id (rel_…)' },
      tag: {
        type: 'string',
        multiple: true,
        valueName: 'TAG',
        description: 'only devices with every such tag',
      },
      hardware: { type: 'string', multiple: true, valueName: 'ID', description: 'only these hardware ids' },
      stages: {
        type: 'string',
        valueName: 'FILE',
        description: 'JSON array of stages (default canary 1, 5%, 25%, 100%)',
      },
      deadline: {
        type: 'string',
        valueName: 'SECS',
        description: 'report deadline per stage (default 3600)',
      },
      'dry-run': { type: 'boolean', description: 'show stages and refused devices, store nothing' },
    },
    async (ctx) => {
      const tags = ctx.strings('tag');
      const hw = ctx.strings('hardware');
      const stages = ctx.string('stages');
      const deadline = ctx.integer('deadline', { min: 1 });
      const v = (await callApi(ctx, 'POST', '/api/v1/rollouts', {
        releaseId: ctx.requireString('release'),
        selector: { ...(tags.length ? { tags } : {}), ...(hw.length ? { hardwareIds: hw } : {}) },
        ...(stages ? { stages: await readJsonFile(ctx, stages) } : {}),
        ...(deadline ? { reportDeadlineSecs: deadline } : {}),
        dryRun: ctx.flag('dry-run'),
      })) as {
        id: string;
        plan: {
          stages: { name: string; devices: string[] }[];
          refused: { deviceId: string; reason: string }[];
        };
      };
      const lines = [
        `${ctx.flag('dry-run') ? 'dry run' : 'created'} ${v.id}`,
        ...v.plan.stages.map((s) => `  ${s.name}: ${s.devices.length} device(s)`),
        `  refused: ${v.plan.refused.length}${
          v.plan.refused.length
            ? ` (${v.plan.refused
                .slice(0, 5)
                .map((r) => `${r.deviceId}: ${r.reason}`)
                .join(', ')}${v.plan.refused.length > 5 ? ', …' : ''})`
            : ''
        }`,
      ];
      return { value: v, human: lines.join('\n') };
    },
  ),
  apiCommand(
    'rollout start',
    'start a rollout (needs a release-manager token or --approval)',
    ID,
    {
      approval: {
        type: 'string',
        valueName: 'FILE',
        description: 'environment approval record from `clawback approve`',
      },
    },
    async (ctx) => {
      const approval = ctx.string('approval');
      const v = (await callApi(
        ctx,
        'POST',
        `/api/v1/rollouts/${encodeURIComponent(ctx.requireArg(0))}/start`,
        {
          ...(approval ? { approval: await readJsonFile(ctx, approval) } : {}),
        },
      )) as { rollout: { state: string } };
      return { value: v, human: `${ctx.requireArg(0)} is ${v.rollout.state}` };
    },
  ),
  ...(['halt', 'resume', 'abort'] as const).map((action) =>
    apiCommand(
      `rollout ${action}`,
      `${action} a rollout (release manager)`,
      ID,
      { reason: { type: 'string', valueName: 'TEXT', description: 'why (recorded in the audit log)' } },
      async (ctx) => {
        const reason = ctx.string('reason');
        const v = (await callApi(
          ctx,
          'POST',
          `/api/v1/rollouts/${encodeURIComponent(ctx.requireArg(0))}/${action}`,
          reason ? { reason } : {},
        )) as {
          rollout: { state: string };
        };
        return { value: v, human: `${ctx.requireArg(0)} is ${v.rollout.state}` };
      },
    ),
  ),
  apiCommand('rollout show', 'show a rollout and its stage counts', ID, {}, async (ctx) => {
    const v = (await callApi(ctx, 'GET', `/api/v1/rollouts/${encodeURIComponent(ctx.requireArg(0))}`)) as {
      rollout: { state: string; current_stage: number; halt_reason: string | null };
      stages: { stage: number; total: number; committed: number; failed: number; open: number }[];
    };
    const lines = [
      `${ctx.requireArg(0)}: ${v.rollout.state}, stage ${v.rollout.current_stage}${v.rollout.halt_reason ? ` — ${v.rollout.halt_reason}` : ''}`,
      ...v.stages.map(
        (s) => `  stage ${s.stage}: ${s.committed}/${s.total} committed, ${s.failed} failed, ${s.open} open`,
      ),
    ];
    return { value: v, human: lines.join('\n') };
  }),
  apiCommand(
    'webhook add',
    'send alerts to a webhook',
    undefined,
    {
      'webhook-url': { type: 'string', valueName: 'URL', description: 'where to POST alerts' },
      format: {
        type: 'string',
        valueName: 'FORMAT',
        description: 'slack or generic (signed JSON)',
        default: 'generic',
      },
    },
    async (ctx) => {
      const v = (await callApi(ctx, 'POST', '/api/v1/webhooks', {
        url: ctx.requireString('webhook-url'),
        format: ctx.string('format') ?? 'generic',
      })) as { id: string };
      return { value: v, human: `added webhook ${v.id}` };
    },
  ),
];
