import type { CommandSpec } from '@clawback/core';

/** `clawback demo`: what `npm start` runs (packages/cli/src/demo/, docs/demo.md). */
export const demoCommands: CommandSpec[] = [
  {
    name: 'demo',
    summary: 'run the whole story on one machine, on embedded defaults (what `npm start` runs)',
    description:
      'In a temp workspace: keys per keys-template/, a TUF repository, three releases of examples/sensor-agent approved against a replayed GitHub history (and one unapproved commit refused before signing), signed with SLSA provenance and published; the console on its embedded database and five devices running the real clawback-updater; a staged rollout every device commits, then a release whose canary exceeds its memory ceiling, rolls back by itself and halts the rollout with a signed webhook alert; an evidence pack and audit logs verified offline. No services, no network. Progress goes to stdout (stderr with --json).',
    options: {
      dir: {
        type: 'string',
        valueName: 'DIR',
        description: 'work in DIR (new or empty) instead of a temp directory; it is kept',
      },
      keep: {
        type: 'boolean',
        description: 'keep the workspace and leave the console (dashboard) up until Ctrl-C',
      },
    },
    exitCodes: [
      { code: 2, meaning: '--dir is not empty' },
      { code: 70, meaning: 'a step of the story did not end as expected (the message names it)' },
      { code: 130, meaning: 'interrupted (Ctrl-C, or 143 for SIGTERM): agents and servers stopped first' },
    ],
    examples: ['npm start', 'npm start -- --keep', 'clawback demo --dir ./demo --json'],
    async run(ctx) {
      const { runDemo } = await import('../demo/story.js');
      const dir = ctx.string('dir');
      const result = await runDemo({
        ...(dir === undefined ? {} : { dir }),
        keep: ctx.flag('keep'),
        io: ctx.io,
        say: (s) => (ctx.json ? ctx.progress(s) : ctx.print(s)),
      });
      ctx.printJson(result);
      return 0;
    },
  },
];
