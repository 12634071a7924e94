import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClawbackError, type CliIo, type CommandSpec, CoreErrors, runProgram } from '@clawback/core';

/**
 * `clawback demo`: what `npm start` runs. It drives the real commands in-process, in a
 * throw-away workspace, and shows each outcome: a reproducible bundle is built, signed,
 * given SLSA provenance and verified; then tampered copies are rejected with their codes.
 */

const SAMPLE_AGENT = fileURLToPath(new URL('../../../../examples/sensor-agent', import.meta.url));

/** A GitHub Actions environment as the release workflow would see it (simulated: no network). */
const SIMULATED_ACTIONS_ENV: Record<string, string> = {
  GITHUB_ACTIONS: 'true',
  GITHUB_SERVER_URL: 'https://github.com',
  GITHUB_REPOSITORY: 'acme/sensor-agents',
  GITHUB_REPOSITORY_ID: '123456789',
  GITHUB_REPOSITORY_OWNER_ID: '987654',
  GITHUB_WORKFLOW_REF: 'acme/sensor-agents/.github/workflows/release.yml@refs/tags/v1.4.0',
  GITHUB_REF: 'refs/tags/v1.4.0',
  GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '1',
  RUNNER_ENVIRONMENT: 'github-hosted',
  SOURCE_DATE_EPOCH: '1767225600',
};

interface StepOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

type Runner = (argv: string[], env?: Record<string, string>) => Promise<StepOutcome>;

function makeRunner(io: CliIo): Runner {
  return async (argv, env = {}) => {
    // Imported lazily: the program imports this module.
    const { program } = await import('../program.js');
    let stdout = '';
    let stderr = '';
    const code = await runProgram(program, argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: { ...io.env, CLAWBACK_QUIET: '1', ...env },
      cwd: io.cwd,
    });
    return { code, stdout, stderr };
  };
}

function expectCode(step: string, outcome: StepOutcome, expected: number): void {
  if (outcome.code !== expected) {
    throw new ClawbackError(
      CoreErrors.INTERNAL,
      `demo step "${step}" exited ${outcome.code}, expected ${expected}: ${outcome.stderr.trim()}`,
    );
  }
}

function firstFailure(outcome: StepOutcome): string {
  try {
    const report = JSON.parse(outcome.stdout) as {
      checks?: { name: string; ok: boolean; code?: string }[];
      error?: { code: string };
    };
    const failed = report.checks?.find((c) => !c.ok);
    if (failed) return `${failed.name}: ${failed.code ?? 'failed'}`;
    if (report.error) return report.error.code;
  } catch {
    // fall through to stderr
  }
  return outcome.stderr.trim().split('\n')[0] ?? 'rejected';
}

export async function runDemo(options: { dir?: string; keep: boolean; io: CliIo; say: (s: string) => void }) {
  const { io, say } = options;
  if (!existsSync(SAMPLE_AGENT)) {
    throw new ClawbackError(CoreErrors.FILE_NOT_FOUND, `sample agent not found at ${SAMPLE_AGENT}`, {
      hint: 'Run the demo from a checkout of the Clawback repository (npm start).',
    });
  }
  const work = options.dir ? resolve(io.cwd, options.dir) : await mkdtemp(join(tmpdir(), 'clawback-demo-'));
  const run = makeRunner(io);
  const p = (...parts: string[]) => join(work, ...parts);
  const results: { step: string; outcome: string }[] = [];
  const note = (step: string, outcome: string) => {
    results.push({ step, outcome });
    say(`  ✓ ${step}: ${outcome}`);
  };
  try {
    say(`Clawback demo in ${work}`);
    await cp(SAMPLE_AGENT, p('agent'), { recursive: true, verbatimSymlinks: true });

    expectCode('keys', await run(['keys', 'generate', '--out', p('keys'), '--name', 'release']), 0);
    note('release key generated', 'keys/release.key (0600), keys/release.pub');

    const bundle = p('sensor-agent-1.4.0.clawback');
    const build = ['bundle', 'build', p('agent', 'app'), '--manifest', p('agent', 'agent.yaml')];
    expectCode('build', await run([...build, '--out', bundle], SIMULATED_ACTIONS_ENV), 0);
    expectCode('rebuild', await run([...build, '--out', p('rebuild.clawback')], SIMULATED_ACTIONS_ENV), 0);
    const same = (await readFile(bundle)).equals(await readFile(p('rebuild.clawback')));
    if (!same) throw new ClawbackError(CoreErrors.INTERNAL, 'two builds of the same inputs differ');
    note('bundle built twice', 'byte-identical (reproducible with SOURCE_DATE_EPOCH)');

    expectCode('sign', await run(['bundle', 'sign', bundle, '--key', p('keys', 'release.key')]), 0);
    note('manifest signed', 'DSSE envelope sensor-agent-1.4.0.clawback.sig.json');

    expectCode(
      'provenance',
      await run(['provenance', bundle, '--key', p('keys', 'release.key')], SIMULATED_ACTIONS_ENV),
      0,
    );
    note('SLSA v1 provenance', 'in-toto statement signed by the release key (simulated GitHub Actions run)');

    const verifyArgs = (file: string) => [
      'bundle',
      'verify',
      file,
      '--trusted-key',
      p('keys', 'release.pub'),
      '--provenance',
      `${bundle}.provenance.json`,
      '--expect-repo',
      'acme/sensor-agents',
      '--expect-workflow',
      '.github/workflows/release.yml',
      '--expect-ref',
      'refs/tags/v.*',
      '--json',
    ];
    const ok = await run(verifyArgs(bundle));
    expectCode('verify', ok, 0);
    const checks = (JSON.parse(ok.stdout) as { checks: unknown[] }).checks.length;
    note('bundle verified', `${checks} named checks passed`);

    // Tamper with one byte of the payload in a copy, keeping the genuine signature beside it.
    const tampered = p('tampered.clawback');
    const bytes = await readFile(bundle);
    bytes[bytes.length - 2048] = (bytes[bytes.length - 2048] ?? 0) ^ 0x01;
    await writeFile(tampered, bytes);
    await cp(`${bundle}.sig.json`, `${tampered}.sig.json`);
    const bad = await run(verifyArgs(tampered));
    expectCode('verify tampered', bad, 1);
    note('one byte of the payload flipped', `rejected (${firstFailure(bad)})`);

    // A signature from a key the verifier does not trust.
    expectCode('attacker key', await run(['keys', 'generate', '--out', p('keys'), '--name', 'attacker']), 0);
    const forged = p('forged.clawback');
    await cp(bundle, forged);
    expectCode('forge', await run(['bundle', 'sign', forged, '--key', p('keys', 'attacker.key')]), 0);
    const forgedOut = await run(verifyArgs(forged));
    expectCode('verify forged', forgedOut, 1);
    note('signed by an untrusted key', `rejected (${firstFailure(forgedOut)})`);

    say('');
    say(
      options.keep ? `Workspace kept: ${work}` : 'Workspace removed. Run `npm start -- --keep` to keep it.',
    );
    return { workspace: work, kept: options.keep, steps: results };
  } finally {
    if (!options.keep && !options.dir) await rm(work, { recursive: true, force: true });
  }
}

export const demoCommands: CommandSpec[] = [
  {
    name: 'demo',
    summary: 'run the end-to-end demo on embedded defaults (what `npm start` runs)',
    description:
      'Builds a sample agent reproducibly, signs it, attaches SLSA provenance, verifies it, and shows that tampered or untrusted copies are rejected. Needs no services and no network.',
    options: {
      dir: {
        type: 'string',
        valueName: 'DIR',
        description: 'work in DIR instead of a temp directory (kept)',
      },
      keep: { type: 'boolean', description: 'keep the temp workspace afterwards' },
    },
    examples: ['npm start', 'clawback demo --keep'],
    async run(ctx) {
      const dir = ctx.string('dir');
      const result = await runDemo({
        ...(dir === undefined ? {} : { dir }),
        keep: ctx.flag('keep') || dir !== undefined,
        io: ctx.io,
        say: (s) => (ctx.json ? ctx.progress(s) : ctx.print(s)),
      });
      ctx.printJson(result);
      return 0;
    },
  },
];
