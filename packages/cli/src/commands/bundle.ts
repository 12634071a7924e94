import type { CommandSpec } from '@clawback/core';

/** `clawback bundle …` commands. */
export const bundleCommands: CommandSpec[] = [];
