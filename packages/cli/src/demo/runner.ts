/**
 * How the demo runs Clawback: the `clawback` commands in-process (the same program `npm start`
 * built), and each device's `clawback-updater` as a real child process, as a device daemon
 * would invoke it.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClawbackError, type CliIo, CoreErrors, runProgram } from '@clawback/core';

/**
 * The checkout the demo runs from: the nearest directory above this module that holds the sample
 * agent. Searched rather than counted, because this code runs from packages/cli/src/demo/ (tests),
 * packages/cli/dist/demo/ (tsc output) and packages/cli/dist/bundle/ (the shipped bin's chunks).
 */
function findRepoRoot(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'examples', 'sensor-agent', 'agent.yaml'))) return dir;
    if (dirname(dir) === dir) break;
  }
  throw new ClawbackError(
    CoreErrors.FILE_NOT_FOUND,
    `the demo needs a Clawback checkout: no examples/sensor-agent above ${start}`,
    {
      hint: 'run `clawback demo` from a clone of the repository (`npm ci && npm start`), not from an installed package',
    },
  );
}

export const REPO_ROOT = findRepoRoot();
export const UPDATER_BIN = join(REPO_ROOT, 'packages', 'updater', 'dist', 'clawback-updater.mjs');

export interface StepOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

export type Runner = (argv: string[], env?: Record<string, string>) => Promise<StepOutcome>;

/** `clawback ARGV…` in this process, output captured. */
export function clawbackRunner(io: CliIo, baseEnv: Record<string, string>): Runner {
  return async (argv, env = {}) => {
    // Imported lazily: the program imports the demo command.
    const { program } = await import('../program.js');
    let stdout = '';
    let stderr = '';
    const code = await runProgram(program, argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: { ...io.env, CLAWBACK_QUIET: '1', ...baseEnv, ...env },
      cwd: io.cwd,
    });
    return { code, stdout, stderr };
  };
}

/** A runner of child processes that can stop the ones still running. */
export type ProcessRunner = Runner & { stopAll(): Promise<void> };

/**
 * `clawback-updater ARGV…` as a child process (the built bin). Each runs in its own process
 * group, with the restart hook and the agent it starts, so `stopAll` can end an install
 * interrupted mid-way without leaving a hook or an agent behind (the updater is crash-safe).
 */
export function updaterRunner(io: CliIo): ProcessRunner {
  if (!existsSync(UPDATER_BIN)) {
    throw new ClawbackError(CoreErrors.FILE_NOT_FOUND, `clawback-updater is not built (${UPDATER_BIN})`, {
      hint: 'Run `npm run build` (npm start builds first).',
    });
  }
  const running = new Map<number, Promise<unknown>>();
  let stopped = false;
  const run: Runner = (argv, env = {}) => {
    if (stopped) {
      return Promise.reject(
        new ClawbackError(CoreErrors.INTERNAL, 'the demo is stopping: no new clawback-updater runs'),
      );
    }
    let pid: number | undefined;
    const done = new Promise<StepOutcome>((finish, fail) => {
      const child = spawn(process.execPath, [UPDATER_BIN, ...argv], {
        cwd: io.cwd,
        // The agents the restart hook starts run on this same Node.
        env: {
          ...io.env,
          PATH: `${dirname(process.execPath)}${delimiter}${io.env.PATH ?? ''}`,
          CLAWBACK_QUIET: '1',
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('error', fail);
      child.on('close', (code) => {
        if (child.pid !== undefined) running.delete(child.pid);
        finish({ code: code ?? 70, stdout, stderr });
      });
      pid = child.pid;
    });
    if (pid !== undefined)
      running.set(
        pid,
        done.catch(() => undefined),
      );
    return done;
  };
  const stopAll = async () => {
    stopped = true;
    const waits = [...running.entries()].map(([pid, exited]) => {
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // already gone
      }
      return exited;
    });
    await Promise.all(waits);
  };
  return Object.assign(run, { stopAll });
}

/** Fails the demo with what the step printed when it did not exit as the story expects. */
export function expectCode(step: string, outcome: StepOutcome, ...expected: number[]): StepOutcome {
  if (!expected.includes(outcome.code)) {
    const detail = (outcome.stderr.trim() || outcome.stdout.trim()).split('\n').slice(-5).join('\n');
    throw new ClawbackError(
      CoreErrors.INTERNAL,
      `demo step "${step}" exited ${outcome.code}, expected ${expected.join(' or ')}: ${detail}`,
    );
  }
  return outcome;
}

export function parseJson<T>(step: string, outcome: StepOutcome): T {
  try {
    return JSON.parse(outcome.stdout) as T;
  } catch {
    throw new ClawbackError(
      CoreErrors.INTERNAL,
      `demo step "${step}" printed no JSON: ${outcome.stdout.slice(0, 200)}`,
    );
  }
}
