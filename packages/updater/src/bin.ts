#!/usr/bin/env -S node --max-semi-space-size=1 --single-threaded-gc --expose-gc
// A small young generation keeps the updater's peak RSS flat while a bundle streams through it
// (chunks are freed by frequent scavenges instead of piling up); --expose-gc lets the download
// loop run a young-generation collection every 2 MiB, since it allocates too little JavaScript
// to trigger one (download.ts). Measured in test/bench/updater.mjs.
// Where `env -S` is unavailable, run it as `node --max-semi-space-size=1 --expose-gc …/clawback-updater.mjs`.
// The shipped bin is this file bundled with everything it imports (scripts/bundle-bin.mjs, docs/updater.md).
import { main } from '@clawback/core';
import { updaterProgram } from './program.js';

await main(updaterProgram());
