import type { CommandSpec } from '@clawback/core';

/** `clawback keys …` commands. */
export const keysCommands: CommandSpec[] = [];
