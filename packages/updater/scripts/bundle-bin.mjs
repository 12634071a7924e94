#!/usr/bin/env node
// Bundle a built bin (tsc output) and everything it imports into one ES module file.
//
//   node packages/updater/scripts/bundle-bin.mjs [ENTRY OUT [--external-packages]]
//
// Without arguments it bundles this package's bin: dist/bin.js -> dist/clawback-updater.mjs
// (what `npm run build` does after `tsc -b`).
//
// Why: Node's ES module loader pays per file (resolve, stat, read, compile, link). The updater
// starts from ~150 modules; run as one file it reaches its first network request in a third of
// the time, which is most of a small install on a device (measured in test/bench/updater.mjs).
//
// The packages load a few CommonJS dependencies lazily with `createRequire(import.meta.url)` so a
// command that never needs them never pays for them (ajv's runtime helpers, yaml on the build
// side, the Sigstore libraries). esbuild cannot see through that alias, so this script rewrites
// those calls to plain `require(…)` in the files it reads: esbuild then bundles each such module
// in a lazy wrapper, initialised on the first call, as before. After bundling, no
// `createRequire(import.meta.url)` may be left but the banner's: a leftover would resolve
// against the output file's location at run time.
//
// --external-packages keeps every npm dependency outside the bundle (loaded from node_modules as
// usual) and bundles only the @clawback/* workspace packages. Without it, got's HTTP/2 support
// (http2-wrapper, which loads node:http2 at start-up) is left out: the updater never asks got for
// HTTP/2, and a caller that did would get a clear error instead.
import { chmod, readFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const argv = process.argv.slice(2);
const [entry, out, ...flags] =
  argv.length === 0 ? [here('../dist/bin.js'), here('../dist/clawback-updater.mjs')] : argv;
if (!entry || !out || flags.some((f) => f !== '--external-packages')) {
  console.error('usage: bundle-bin.mjs [ENTRY OUT [--external-packages]]');
  process.exit(2);
}
const externalPackages = flags.includes('--external-packages');
const LAZY_REQUIRE = 'const load = createRequire(import.meta.url);';

/** @type {import('esbuild').Plugin} */
const lazyRequires = {
  name: 'clawback-lazy-requires',
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/][a-z]+[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes(LAZY_REQUIRE)) return undefined;
      return { contents: text.replace(LAZY_REQUIRE, '').replace(/\bload\(/g, 'require('), loader: 'js' };
    });
  },
};

/** @type {import('esbuild').Plugin} */
const npmExternal = {
  name: 'clawback-npm-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@clawback/') || args.path.startsWith('node:') ? undefined : { external: true },
    );
  },
};

/** @type {import('esbuild').Plugin} */
const withoutHttp2 = {
  name: 'clawback-without-http2',
  setup(b) {
    b.onResolve({ filter: /^http2-wrapper$/ }, () => ({ path: 'http2-wrapper', namespace: 'no-http2' }));
    b.onLoad({ filter: /.*/, namespace: 'no-http2' }, () => ({
      contents: `const unsupported = () => {
  throw new Error('HTTP/2 is not part of this build of the Clawback updater; use HTTP/1.1.');
};
export default { auto: unsupported, globalAgent: undefined, request: unsupported };`,
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: [entry],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.19',
  // CommonJS dependencies call require() for Node built-ins; give the ES module output one.
  banner: {
    js: "import { createRequire as __clawbackCreateRequire } from 'node:module'; const require = __clawbackCreateRequire(import.meta.url);",
  },
  plugins: externalPackages ? [lazyRequires, npmExternal] : [lazyRequires, withoutHttp2],
  legalComments: 'eof',
  logLevel: 'warning',
  metafile: true,
  write: true,
});

await chmod(out, 0o755);
const text = await readFile(out, 'utf8');
const leftovers = text.split('createRequire(import.meta.url)').length - 1;
if (leftovers > 1) {
  console.error(`bundle-bin: ${out} still calls createRequire(import.meta.url) ${leftovers - 1} time(s)`);
  process.exit(1);
}
const inputs = Object.keys(result.metafile.inputs).length;
console.error(
  `bundle-bin: ${relative(process.cwd(), out)} (${inputs} modules, ${(text.length / 1024).toFixed(0)} KiB)`,
);
