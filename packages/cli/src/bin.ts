#!/usr/bin/env node
import { main } from '@clawback/core';
import { program } from './program.js';

await main(program);
