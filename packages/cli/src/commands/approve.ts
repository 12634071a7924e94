import type { CommandSpec } from '@clawback/core';

/** `clawback approve …` commands. */
export const approveCommands: CommandSpec[] = [];
