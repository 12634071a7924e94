#!/usr/bin/env node
// TUF conformance client protocol entry point (filled in by the TUF repository work).
process.exitCode = 1;
