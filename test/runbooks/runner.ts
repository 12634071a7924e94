// Executes a runbook: its fenced ```sh blocks, in order, as one bash script (so variables carry
// over) in a fresh temp dir, with the built CLIs on PATH. Setup the test environment must provide
// is declared in the runbook with `<!-- runbook-test: … -->` comments (runbooks/README.md).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type GitHubExchange,
  loadGitHubScenario,
  publicGoodTrustedRoot,
  type StaticServer,
  serveDirectory,
  serveGitHubScenario,
} from '@clawback/testing';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Commands a runbook may call, and the built file each runs. */
const BINS: Record<string, string> = {
  clawback: 'packages/cli/dist/bundle/clawback.mjs',
  'clawback-tuf-conformance': 'packages/updater/dist/tuf/conformance-cli.js',
  'clawback-updater': 'packages/updater/dist/clawback-updater.mjs',
  'clawback-console': 'packages/console/dist/bin.js',
};

export interface Block {
  line: number;
  code: string;
}

export type Directive =
  | { kind: 'serve'; dir: string; variable: string }
  | { kind: 'env'; name: string; value: string }
  | { kind: 'copy'; from: string; to: string }
  | { kind: 'fixture'; name: string; to: string }
  | { kind: 'github'; scenario: string; variable: string }
  | { kind: 'timeout'; seconds: number };

export interface ParsedRunbook {
  blocks: Block[];
  directives: Directive[];
}

const DIRECTIVE = /<!--\s*runbook-test:\s*(.*?)\s*-->/g;

export function parseRunbook(text: string, source: string): ParsedRunbook {
  const blocks: Block[] = [];
  const lines = text.split('\n');
  let open: { lang: string; line: number; body: string[] } | undefined;
  lines.forEach((line, i) => {
    const fence = /^(\s*)```\s*([\w-]*)/.exec(line);
    if (fence && !open) {
      open = { lang: fence[2] ?? '', line: i + 1, body: [] };
    } else if (fence && open && /^\s*```\s*$/.test(line)) {
      if (open.lang === 'sh') blocks.push({ line: open.line, code: open.body.join('\n') });
      open = undefined;
    } else if (open) {
      open.body.push(line);
    }
  });
  if (open) throw new Error(`${source}:${open.line}: unterminated code fence`);
  const directives: Directive[] = [];
  for (const m of text.matchAll(DIRECTIVE)) directives.push(parseDirective(m[1] ?? '', source));
  return { blocks, directives };
}

function parseDirective(body: string, source: string): Directive {
  const words = body.split(/\s+/);
  const [kind, a, b, c] = words;
  if (kind === 'serve' && a && b === 'as' && c && /^[A-Z_][A-Z0-9_]*$/.test(c))
    return { kind, dir: a, variable: c };
  if (kind === 'env' && a && /^[A-Z_][A-Z0-9_]*=/.test(a)) {
    const eq = a.indexOf('=');
    return { kind, name: a.slice(0, eq), value: [a.slice(eq + 1), ...words.slice(2)].join(' ') };
  }
  if (kind === 'copy' && a && b) return { kind, from: a, to: b };
  if (kind === 'github' && a && /^[\w-]+$/.test(a) && b === 'as' && c && /^[A-Z_][A-Z0-9_]*$/.test(c))
    return { kind, scenario: a, variable: c };
  if (kind === 'fixture' && a && b) return { kind, name: a, to: b };
  if (kind === 'timeout' && a && Number(a) > 0) return { kind, seconds: Number(a) };
  throw new Error(`${source}: cannot read directive <!-- runbook-test: ${body} -->`);
}

/** Fixtures a runbook can ask for by name (real files, made by the project's own helpers). */
const FIXTURES: Record<string, () => Promise<string>> = {
  'sigstore-trusted-root': async () => `${JSON.stringify(publicGoodTrustedRoot(), null, 2)}\n`,
};

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * A recorded GitHub scenario moved in time so that its `now` is the moment the runbook runs: the
 * built CLIs read the real clock, and an emergency's retro window is measured against it. Every
 * ISO instant in the recorded answers moves by the same amount, so their order and the gaps
 * between them (merge → retro review) are what was recorded.
 */
export function shiftScenario(exchanges: readonly GitHubExchange[], from: Date, to: Date): GitHubExchange[] {
  const delta = to.getTime() - from.getTime();
  const move = (v: unknown): unknown => {
    if (typeof v === 'string' && ISO_INSTANT.test(v))
      return new Date(new Date(v).getTime() + delta).toISOString().replace('.000Z', 'Z');
    if (Array.isArray(v)) return v.map(move);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, move(x)]));
    return v;
  };
  return exchanges.map((e) => ({ ...e, response: move(e.response) }));
}

interface Closable {
  close(): Promise<void>;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  dir: string;
}

function insideDir(dir: string, rel: string, source: string): string {
  const p = resolve(dir, rel);
  if (isAbsolute(rel) || !p.startsWith(dir))
    throw new Error(`${source}: path ${rel} leaves the runbook directory`);
  return p;
}

export async function runRunbook(path: string): Promise<RunResult> {
  const source = path.slice(PROJECT_ROOT.length + 1);
  const parsed = parseRunbook(await readFile(path, 'utf8'), source);
  if (parsed.blocks.length === 0) throw new Error(`${source} has no \`\`\`sh blocks to run`);
  const dir = await mkdtemp(join(tmpdir(), 'clawback-runbook-'));
  const bin = join(dir, '.bin');
  await mkdir(bin);
  for (const [name, file] of Object.entries(BINS)) {
    const target = join(PROJECT_ROOT, file);
    if (!existsSync(target)) continue;
    await writeFile(join(bin, name), `#!/bin/sh\nexec "${process.execPath}" "${target}" "$@"\n`);
    await chmod(join(bin, name), 0o755);
  }
  if (!existsSync(join(PROJECT_ROOT, BINS.clawback as string))) {
    throw new Error(
      'packages/cli/dist/bundle/clawback.mjs is missing: build first (`npm test` or `npm run build`)',
    );
  }
  const env: NodeJS.ProcessEnv = {
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    HOME: dir,
    LANG: 'C.UTF-8',
    CLAWBACK_PROJECT_ROOT: PROJECT_ROOT,
  };
  const servers: (StaticServer | Closable)[] = [];
  let timeout = 300;
  try {
    for (const d of parsed.directives) {
      if (d.kind === 'serve') {
        const root = insideDir(dir, d.dir, source);
        await mkdir(root, { recursive: true });
        const server = await serveDirectory(root);
        servers.push(server);
        env[d.variable] = server.url;
      } else if (d.kind === 'github') {
        const scenario = loadGitHubScenario(d.scenario);
        const server = await serveGitHubScenario(
          shiftScenario(
            scenario.exchanges,
            new Date(scenario.input.now),
            new Date(Math.floor(Date.now() / 1000) * 1000),
          ),
        );
        servers.push(server);
        env[d.variable] = server.url;
        env[`${d.variable}_REPO`] = scenario.input.repo;
        env[`${d.variable}_COMMIT`] = scenario.input.commit;
      } else if (d.kind === 'env') {
        env[d.name] = d.value;
      } else if (d.kind === 'copy') {
        const to = insideDir(dir, d.to, source);
        await mkdir(dirname(to), { recursive: true });
        await cp(join(PROJECT_ROOT, d.from), to, { recursive: true, verbatimSymlinks: true });
      } else if (d.kind === 'fixture') {
        const make = FIXTURES[d.name];
        if (!make)
          throw new Error(
            `${source}: unknown fixture ${d.name} (known: ${Object.keys(FIXTURES).join(', ')})`,
          );
        const to = insideDir(dir, d.to, source);
        await mkdir(dirname(to), { recursive: true });
        await writeFile(to, await make());
      } else {
        timeout = d.seconds;
      }
    }
    const script = [
      'set -euo pipefail',
      // CLAWBACK_RUNBOOK_TRACE=1: trace every command with a timestamp on stderr (to find slow steps).
      ...(process.env.CLAWBACK_RUNBOOK_TRACE ? [`PS4='+ \${EPOCHREALTIME} '`, 'set -x'] : []),
      ...parsed.blocks.map((b, i) => `echo "::runbook ${source}:${b.line} (block ${i + 1})" >&2\n${b.code}`),
    ].join('\n');
    await writeFile(join(dir, '.runbook.sh'), `${script}\n`);
    return await execBash(join(dir, '.runbook.sh'), dir, env, timeout);
  } finally {
    for (const s of servers) await s.close();
  }
}

function execBash(
  script: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutSeconds: number,
): Promise<RunResult> {
  return new Promise((ok, fail) => {
    // Its own process group, so a server a failed runbook left in the background is stopped too.
    const child = spawn('bash', [script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // the group is already gone
      }
    };
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => killGroup('SIGKILL'), timeoutSeconds * 1000);
    child.on('error', fail);
    child.on('exit', () => killGroup('SIGTERM'));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ok({ code: code ?? (signal ? 128 : 1), stdout, stderr, dir: cwd });
    });
  });
}
