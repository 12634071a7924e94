export { program } from './program.js';
export { CLAWBACK_VERSION } from './version.js';
