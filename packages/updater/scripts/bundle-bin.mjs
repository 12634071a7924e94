#!/usr/bin/env node
// Bundle a built bin (tsc output) and everything it imports into one ES module file, or, with
// --split, into an entry file plus chunks that load on demand.
//
//   node packages/updater/scripts/bundle-bin.mjs [ENTRY OUT [--external-packages]]
//   node packages/updater/scripts/bundle-bin.mjs --split ENTRY OUTDIR NAME
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
// `createRequire(import.meta.url)` may be left in any output file: a leftover would resolve
// against the output file's location at run time.
//
// --external-packages keeps every npm dependency outside the bundle (loaded from node_modules as
// usual) and bundles only the @clawback/* workspace packages. Without it, got's HTTP/2 support
// (http2-wrapper, which loads node:http2 at start-up) is left out: the updater never asks got for
// HTTP/2, and a caller that did would get a clear error instead.
//
// The full bundle also defers the two `Intl.ListFormat`s that @sindresorhus/is (got's type checks)
// builds when it loads: they only format one assertion message, and the first Intl object costs
// ~12 ms of ICU set-up on every start. If that code changes upstream the build says so and leaves it.
//
// --split is for a bin with many commands that each `await import()` what they need (the
// `clawback` CLI): OUTDIR gets NAME.mjs (the entry, shebang and exec bit kept) and
// chunk-[hash].mjs files that esbuild splits along those dynamic imports, so a command still loads
// only its own code. npm dependencies stay external (implied): in one file, esbuild would hoist
// every command's external imports to the top and the CLI would start slower than unbundled. A
// dependency is bundled after all when it would resolve to a different copy from OUTDIR than from
// the module importing it (a workspace package's nested node_modules), so the bundle never
// silently swaps a version. OUTDIR is replaced as a whole, so no stale chunk survives a rebuild;
// it must hold nothing but such output.
import { chmod, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const USAGE = 'usage: bundle-bin.mjs [ENTRY OUT [--external-packages]] | --split ENTRY OUTDIR NAME';
const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const argv = process.argv.slice(2);
const split = argv[0] === '--split';
const [entry, out, ...rest] = split
  ? argv.slice(1)
  : argv.length === 0
    ? [here('../dist/bin.js'), here('../dist/clawback-updater.mjs')]
    : argv;
const name = split ? rest[0] : undefined;
const badArgs = split
  ? rest.length !== 1 || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name ?? '')
  : rest.some((f) => f !== '--external-packages');
if (!entry || !out || badArgs) {
  console.error(USAGE);
  process.exit(2);
}
const externalPackages = split || rest.includes('--external-packages');

// The packages declare the loader once per module, at the top level, on a line of its own.
// Only that form is rewritten: the same text inside a string (manifest-validator-codegen.ts
// writes it into the code it generates) never starts a line of the compiled file.
const LAZY_REQUIRE = /^const load = createRequire\(import\.meta\.url\);$/m;
// Calls with a literal module name (`load('yaml')`), the only form esbuild can bundle.
const LOAD_CALL = /\bload\((?=['"])/g;

/** @type {import('esbuild').Plugin} */
const lazyRequires = {
  name: 'clawback-lazy-requires',
  setup(b) {
    b.onLoad({ filter: /[\\/]packages[\\/][a-z]+[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!LAZY_REQUIRE.test(text)) return undefined;
      const contents = text.replace(LAZY_REQUIRE, '');
      if (contents.includes('createRequire(import.meta.url)')) {
        // A second mention (in a string, a comment, a nested function) cannot be told apart
        // from code here; refuse rather than rewrite what may be data.
        return {
          errors: [
            { text: `${args.path}: more than one createRequire(import.meta.url); cannot rewrite safely` },
          ],
        };
      }
      return { contents: contents.replace(LOAD_CALL, 'require('), loader: 'js' };
    });
  },
};

const RESOLVING = Symbol('clawback-npm-external');
/** Dependencies bundled because OUTDIR would resolve them to another copy (see the header). */
const bundledAnyway = new Set();

/**
 * Every npm dependency stays external, loaded at run time from the node_modules above the output
 * — unless that would find a different copy than the importing module finds now.
 * @param {string} fromDir a directory beside the output (same node_modules ancestors)
 * @returns {import('esbuild').Plugin}
 */
const npmExternal = (fromDir) => ({
  name: 'clawback-npm-external',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (
        args.pluginData?.[RESOLVING] ||
        args.path.startsWith('@clawback/') ||
        args.path.startsWith('node:')
      ) {
        return undefined;
      }
      const options = { kind: args.kind, pluginData: { [RESOLVING]: true } };
      const [atImporter, atOutput] = await Promise.all([
        b.resolve(args.path, { ...options, importer: args.importer, resolveDir: args.resolveDir }),
        b.resolve(args.path, { ...options, resolveDir: fromDir }),
      ]);
      const same =
        atImporter.errors.length === 0 && atOutput.errors.length === 0 && atImporter.path === atOutput.path;
      if (same || atImporter.external) return { external: true };
      bundledAnyway.add(`${args.path} (from ${relative(process.cwd(), args.importer)})`);
      return undefined;
    });
  },
});

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

/**
 * `new Intl.ListFormat(…)` at the top of @sindresorhus/is becomes an object whose `format` builds
 * the real formatter on first use (the only use the module makes of them).
 * @type {import('esbuild').Plugin}
 */
const lazyListFormat = {
  name: 'clawback-lazy-list-format',
  setup(b) {
    const eager = /^const (andFormatter|orFormatter) = (new Intl\.ListFormat\([^;]*\));$/gm;
    b.onLoad({ filter: /[\\/]@sindresorhus[\\/]is[\\/]distribution[\\/]index\.js$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      let found = 0;
      const contents = text.replace(eager, (_all, id, make) => {
        found += 1;
        return `let ${id}Instance;\nconst ${id} = { format: (list) => (${id}Instance ??= ${make}).format(list) };`;
      });
      if (found !== 2 || /\b(andFormatter|orFormatter)\.(?!format\()/.test(contents)) {
        console.error(`bundle-bin: ${args.path} no longer builds its ListFormats as expected; left as is`);
        return undefined;
      }
      return { contents, loader: 'js' };
    });
  },
};

// --split writes into a fresh sibling directory and swaps it in at the end, so a failed build
// leaves the previous output whole and a rebuild leaves no stale chunk behind.
const outDir = split ? resolve(out) : dirname(resolve(out));
const buildDir = split ? `${outDir}.tmp-${process.pid}` : outDir;
if (split) {
  await rm(buildDir, { recursive: true, force: true });
  await mkdir(buildDir, { recursive: true });
}
const OUTPUT_NAME = split
  ? new RegExp(`^(${name.replaceAll('.', '\\.')}|chunk-[A-Za-z0-9]+)\\.mjs$`)
  : undefined;

let result;
try {
  result = await build({
    ...(split
      ? {
          entryPoints: { [name]: entry },
          outdir: buildDir,
          splitting: true,
          entryNames: '[name]',
          chunkNames: 'chunk-[hash]',
          outExtension: { '.js': '.mjs' },
        }
      : { entryPoints: [entry], outfile: out }),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    // CommonJS dependencies call require() for Node built-ins; give the ES module output one.
    banner: {
      js: "import { createRequire as __clawbackCreateRequire } from 'node:module'; const require = __clawbackCreateRequire(import.meta.url);",
    },
    plugins: externalPackages
      ? [lazyRequires, npmExternal(buildDir)]
      : [lazyRequires, withoutHttp2, lazyListFormat],
    legalComments: 'eof',
    logLevel: 'warning',
    metafile: true,
    write: true,
  });
} catch {
  // esbuild has printed what failed.
  if (split) await rm(buildDir, { recursive: true, force: true });
  process.exit(1);
}

const outputs = Object.keys(result.metafile.outputs).map((p) => resolve(p));
const entryFile = split ? join(buildDir, `${name}.mjs`) : resolve(out);
let leftoverFiles = 0;
let totalBytes = 0;
for (const file of outputs) {
  const text = await readFile(file, 'utf8');
  totalBytes += text.length;
  // The banner's call is spelled `__clawbackCreateRequire(`, so any match here is a leftover.
  const leftovers = text.split('createRequire(import.meta.url)').length - 1;
  if (leftovers > 0) {
    console.error(`bundle-bin: ${file} contains createRequire(import.meta.url) ${leftovers} time(s)`);
    leftoverFiles += 1;
  }
}
if (leftoverFiles > 0) {
  if (split) await rm(buildDir, { recursive: true, force: true });
  process.exit(1);
}
await chmod(entryFile, 0o755);

if (split) {
  // Only ever replace a directory this script wrote: anything else in it is someone's file.
  const previous = await stat(outDir).then(
    () => readdir(outDir),
    () => undefined,
  );
  const foreign = previous?.filter((f) => !OUTPUT_NAME.test(f)) ?? [];
  if (foreign.length > 0) {
    await rm(buildDir, { recursive: true, force: true });
    console.error(
      `bundle-bin: ${outDir} holds files this script did not write (${foreign.join(', ')}); move them away`,
    );
    process.exit(1);
  }
  const old = `${outDir}.old-${process.pid}`;
  if (previous) await rename(outDir, old);
  await rename(buildDir, outDir);
  if (previous) await rm(old, { recursive: true, force: true });
}

const inputs = Object.keys(result.metafile.inputs).length;
const shown = split
  ? join(relative(process.cwd(), outDir), basename(entryFile))
  : relative(process.cwd(), out);
const files = split ? `, ${outputs.length} files` : '';
console.error(`bundle-bin: ${shown} (${inputs} modules${files}, ${(totalBytes / 1024).toFixed(0)} KiB)`);
for (const dep of bundledAnyway) {
  console.error(`bundle-bin: bundled ${dep}: node_modules beside the output holds another copy`);
}
