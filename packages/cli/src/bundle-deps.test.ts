// The shipped `clawback` bin is a bundle whose npm imports stay external (docs/architecture.md):
// each must be a dependency of @clawback/cli itself, or an install that does not hoist would
// leave the import unresolved. Reads the built bundle (`npm test` builds first).
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const PKG = join(import.meta.dirname, '..');
const BUNDLE = join(PKG, 'dist', 'bundle');

/** Package names of the bare-specifier imports and requires in the bundle's files. */
function externalImports(): Set<string> {
  const names = new Set<string>();
  // A package specifier: no spaces, quotes or punctuation of code, same quote on both sides.
  const specifier = /(?:\bfrom\s*|\bimport\s*\(\s*|(?:\b|__)require\(\s*)(["'])([@a-z0-9][\w@/.-]*)\1/g;
  for (const file of readdirSync(BUNDLE).filter((f) => f.endsWith('.mjs'))) {
    for (const m of readFileSync(join(BUNDLE, file), 'utf8').matchAll(specifier)) {
      const spec = m[2] as string;
      if (spec.startsWith('node:') || builtinModules.includes(spec.split('/')[0] as string)) continue;
      const parts = spec.split('/');
      names.add(spec.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string));
    }
  }
  return names;
}

describe('the bundled clawback bin', () => {
  it('declares every npm package it imports at run time', () => {
    const pkg = JSON.parse(readFileSync(join(PKG, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    const declared = new Set(Object.keys(pkg.dependencies ?? {}));
    const imported = externalImports();
    expect(imported.size).toBeGreaterThan(5);
    expect([...imported].filter((n) => !declared.has(n))).toEqual([]);
  });
});
