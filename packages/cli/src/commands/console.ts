import type { CommandSpec } from '@clawback/core';

/** `clawback console …` commands. */
export const consoleCommands: CommandSpec[] = [];
