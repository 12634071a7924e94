import type { CommandSpec } from '@clawback/core';

/** `clawback repo …` commands. */
export const repoCommands: CommandSpec[] = [];
