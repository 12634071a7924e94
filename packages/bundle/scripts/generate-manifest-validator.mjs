#!/usr/bin/env node
// Regenerate packages/bundle/src/manifest-validator.generated.ts from the manifest schema.
// Run after changing packages/bundle/src/schema.ts (and building): `npm run build`, then
//   node packages/bundle/scripts/generate-manifest-validator.mjs
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const { manifestValidatorSource } = await import('../dist/manifest-validator-codegen.js');
const out = fileURLToPath(new URL('../src/manifest-validator.generated.ts', import.meta.url));
const { source, rawSha256 } = manifestValidatorSource();
writeFileSync(out, source);
// House formatting, so `biome ci` accepts the file as generated.
execFileSync('npx', ['biome', 'format', '--write', out], { stdio: 'inherit' });
console.log(`wrote ${out} (raw-sha256 ${rawSha256})`);
