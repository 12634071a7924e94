// Test helpers: real signed fixtures, fake GitHub fetch, fake device roots. Never published.
// Import only from test/** and from the tests of updater, console and cli (packages below those
// must not depend on testing, or the project references would form a cycle).
export * from './bundle.js';
export * from './console.js';
export * from './github.js';
export * from './policy.js';
export * from './sigstore.js';
export * from './tuf.js';
export * from './updater.js';
export * from './updater-lab.js';
