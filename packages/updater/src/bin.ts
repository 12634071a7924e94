#!/usr/bin/env -S node --max-semi-space-size=1 --single-threaded-gc
// A small young generation keeps the updater's peak RSS flat while a bundle streams through it
// (chunks are freed by frequent scavenges instead of piling up); measured in test/bench/updater.mjs.
// Where `env -S` is unavailable, run it as `node --max-semi-space-size=1 …/bin.js` (or set NODE_OPTIONS).
import { main } from '@clawback/core';
import { updaterProgram } from './program.js';

await main(updaterProgram());
