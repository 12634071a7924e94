#!/usr/bin/env node
import { main } from '@clawback/core';
import { consoleProgram } from './cli.js';

await main(consoleProgram);
