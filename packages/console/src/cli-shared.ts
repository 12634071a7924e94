/** Options and helpers shared by the console's commands. */
import { resolve } from 'node:path';
import { type CommandContext, readJsonChecked } from '@clawback/core';

export const STORE_OPTIONS = {
  data: {
    type: 'string',
    valueName: 'DIR',
    description:
      'data directory of the embedded database (default ./clawback-console-data); ignored with DATABASE_URL',
  },
} as const;

export function dataDirOf(ctx: CommandContext): string {
  return resolve(ctx.io.cwd, ctx.string('data') ?? ctx.env.CLAWBACK_CONSOLE_DATA ?? 'clawback-console-data');
}

export async function readJsonFile(ctx: CommandContext, path: string): Promise<unknown> {
  return readJsonChecked(resolve(ctx.io.cwd, path), path);
}
