// Build side. Each area keeps its own barrel; this file only re-exports them.
export * from './publish/index.js';
export * from './release/index.js';
export * from './sigstore/index.js';
export * from './tuf/index.js';
