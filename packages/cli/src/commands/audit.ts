import type { CommandSpec } from '@clawback/core';

/** `clawback audit …` commands. */
export const auditCommands: CommandSpec[] = [];
