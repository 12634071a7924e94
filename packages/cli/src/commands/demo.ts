import type { CommandSpec } from '@clawback/core';

/** `clawback demo …` commands. */
export const demoCommands: CommandSpec[] = [];
