// Pure verification. Each area keeps its own barrel; this file only re-exports them.
export * from './bundle/index.js';
export * from './sigstore/index.js';
