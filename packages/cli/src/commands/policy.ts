import type { CommandSpec } from '@clawback/core';

/** `clawback policy …` commands. */
export const policyCommands: CommandSpec[] = [];
