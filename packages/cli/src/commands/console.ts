import { type CommandSpec, runProgram } from '@clawback/core';

/**
 * `clawback console …`: the same commands as `clawback-console …` (serve, token, device, release,
 * rollout, webhook, audit), defined once in @clawback/console. The console package (database
 * drivers, HTTP server) is loaded only when a console command runs, so every other command
 * starts without it.
 */
export const consoleCommands: CommandSpec[] = [
  {
    name: 'console',
    summary: 'the console: serve, tokens, devices, releases, rollouts, webhooks (as clawback-console)',
    passthrough: true,
    json: false,
    examples: [
      'clawback console serve --data ./console-data',
      'clawback console rollout show ro_7f3a --json',
    ],
    async run(ctx) {
      const { consoleProgram } = await import('@clawback/console');
      return runProgram({ ...consoleProgram, name: 'clawback console' }, ctx.args, ctx.io);
    },
  },
];
