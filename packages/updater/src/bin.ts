#!/usr/bin/env node
import { main } from '@clawback/core';
import { updaterProgram } from './program.js';

await main(updaterProgram());
