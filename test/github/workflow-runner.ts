/**
 * Runs a GitHub Actions job's `run:` steps on this machine, in order, the way the runner does:
 * `bash --noprofile --norc -eo pipefail`, the job's and step's `env:` with `${{ }}` expressions
 * evaluated, `$GITHUB_OUTPUT`, `$GITHUB_PATH` and `$GITHUB_STEP_SUMMARY` honoured. `uses:` steps
 * (checkout, setup-node, artifacts) cannot run here; the caller emulates each one.
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface WorkflowStep {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}

export interface WorkflowJob {
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  environment?: string;
  permissions?: Record<string, string>;
  steps: WorkflowStep[];
}

export interface Workflow {
  env?: Record<string, string>;
  jobs: Record<string, WorkflowJob>;
}

export interface StepResult {
  label: string;
  kind: 'run' | 'uses';
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface JobContext {
  cwd: string;
  /** Base environment: the runner's GITHUB_* variables, PATH, HOME… */
  env: Record<string, string>;
  secrets: Record<string, string>;
  github: Record<string, string>;
  needs?: Record<string, { outputs: Record<string, string> }>;
  /** Emulates a `uses:` step; return a non-zero code to fail the job. */
  uses(step: WorkflowStep, env: Record<string, string>): Promise<number>;
  /** Replace a `run:` step that cannot run here (e.g. `npm ci` of the project itself). */
  replaceRun?(step: WorkflowStep, env: Record<string, string>): Promise<number | undefined>;
}

export async function loadWorkflow(path: string): Promise<Workflow> {
  return parse(await readFile(path, 'utf8')) as Workflow;
}

/** The `${{ }}` expressions release.yml uses: contexts, property paths and `||`. */
export function evaluate(expr: string, ctx: Record<string, unknown>): string {
  for (const alternative of expr.split('||').map((s) => s.trim())) {
    const value = alternative
      .split('.')
      .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], ctx);
    if (value !== undefined && value !== null && value !== '') return String(value);
  }
  return '';
}

function substitute(text: string, ctx: Record<string, unknown>): string {
  return text.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, expr: string) => evaluate(expr, ctx));
}

function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    const heredoc = /^([\w-]+)<<(.+)$/.exec(line);
    if (heredoc?.[1] && heredoc[2]) {
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== heredoc[2]; i++) body.push(lines[i] ?? '');
      out[heredoc[1]] = body.join('\n');
      continue;
    }
    const eq = line.indexOf('=');
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

function runBash(script: string, cwd: string, env: Record<string, string>): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', script], { cwd, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ label: '', kind: 'run', exitCode: code ?? 1, stdout, stderr }));
  });
}

export interface JobResult {
  steps: StepResult[];
  /** The job's `outputs:`, evaluated after its steps (for `needs.<job>.outputs`). */
  outputs: Record<string, string>;
}

/** Run a job's steps in order; stops at the first failing step, as the runner does. */
export async function runJob(workflow: Workflow, jobId: string, ctx: JobContext): Promise<JobResult> {
  const job = workflow.jobs[jobId];
  if (!job) throw new Error(`no job ${jobId}`);
  const runnerDir = join(ctx.cwd, '..', `runner-${jobId}`);
  await mkdir(runnerDir, { recursive: true });
  const pathFile = join(runnerDir, 'path');
  const summary = join(runnerDir, 'summary.md');
  await writeFile(pathFile, '');
  const steps: Record<string, { outputs: Record<string, string> }> = {};
  const results: StepResult[] = [];
  const baseEnv: Record<string, string> = { ...ctx.env };
  const exprCtx = () => ({
    secrets: ctx.secrets,
    github: ctx.github,
    steps,
    needs: ctx.needs ?? {},
    env: baseEnv,
  });
  for (const [k, v] of Object.entries({ ...workflow.env, ...job.env }))
    baseEnv[k] = substitute(String(v), exprCtx());

  for (const [index, step] of job.steps.entries()) {
    const label = step.name ?? step.uses ?? step.run?.split('\n')[0] ?? `step ${index}`;
    const outputFile = join(runnerDir, `output-${index}`);
    await writeFile(outputFile, '');
    const extraPath = (await readFile(pathFile, 'utf8')).split('\n').filter(Boolean).reverse();
    const env: Record<string, string> = {
      ...baseEnv,
      PATH: [...extraPath, baseEnv.PATH ?? ''].join(':'),
      GITHUB_OUTPUT: outputFile,
      GITHUB_PATH: pathFile,
      GITHUB_STEP_SUMMARY: summary,
    };
    for (const [k, v] of Object.entries(step.env ?? {})) env[k] = substitute(String(v), exprCtx());
    let result: StepResult;
    if (step.uses) {
      const withValues = Object.fromEntries(
        Object.entries(step.with ?? {}).map(([k, v]) => [k, substitute(String(v), exprCtx())]),
      );
      const code = await ctx.uses({ ...step, with: withValues }, env);
      result = { label, kind: 'uses', exitCode: code, stdout: '', stderr: '' };
    } else {
      const replaced = await ctx.replaceRun?.(step, env);
      result =
        replaced === undefined
          ? { ...(await runBash(step.run ?? '', ctx.cwd, env)), label }
          : { label, kind: 'run', exitCode: replaced, stdout: '', stderr: '' };
    }
    results.push(result);
    if (process.env.CLAWBACK_DEBUG_WORKFLOW)
      process.stderr.write(`[${jobId}] ${label}: exit ${result.exitCode}\n${result.stderr}\n`);
    if (step.id) steps[step.id] = { outputs: parseOutputs(await readFile(outputFile, 'utf8')) };
    if (result.exitCode !== 0) break;
  }
  await appendFile(summary, '');
  const outputs = Object.fromEntries(
    Object.entries(job.outputs ?? {}).map(([k, v]) => [k, substitute(String(v), exprCtx())]),
  );
  return { steps: results, outputs };
}
