import { consoleCommandsForCli } from '@clawback/console';
import type { CommandSpec } from '@clawback/core';

/**
 * `clawback console …`: the same commands as `clawback-console …` (serve, token, rollout, …),
 * defined once in @clawback/console.
 */
export const consoleCommands: CommandSpec[] = consoleCommandsForCli;
