import type { Program } from '@clawback/core';
import { approveCommands } from './commands/approve.js';
import { auditCommands } from './commands/audit.js';
import { bundleCommands } from './commands/bundle.js';
import { consoleCommands } from './commands/console.js';
import { demoCommands } from './commands/demo.js';
import { keysCommands } from './commands/keys.js';
import { policyCommands } from './commands/policy.js';
import { repoCommands } from './commands/repo.js';
import { CLAWBACK_VERSION } from './version.js';

/** The `clawback` command: a thin shell over the packages (design §3). */
export const program: Program = {
  name: 'clawback',
  version: CLAWBACK_VERSION,
  summary: 'signed OTA updates and change control for AI-agent fleets',
  commands: [
    ...keysCommands,
    ...bundleCommands,
    ...repoCommands,
    ...approveCommands,
    ...policyCommands,
    ...auditCommands,
    ...consoleCommands,
    ...demoCommands,
  ],
};
