/** Rollouts in the demo: registered, planned and started with the real `clawback console` commands. */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApplyOutcome, DemoConsole, DemoDevice } from './fleet.js';
import { applyRound } from './fleet.js';
import { AGENT } from './pipeline.js';
import { expectCode, parseJson, type Runner } from './runner.js';

export interface StageSpec {
  name: string;
  devices?: number;
  percent?: number;
  maxFailures: number;
}

export interface RolloutView {
  rollout: { state: string; current_stage: number; halt_reason: string | null };
  stages: { name: string; total: number; committed: number; failed: number }[];
}

export interface RolloutOutcome {
  version: string;
  id: string;
  stages: { name: string; devices: string[] }[];
  state: string;
  haltReason: string | null;
  rounds: ApplyOutcome[][];
}

async function newestTargets(repo: string): Promise<string> {
  const files = (await readdir(join(repo, 'metadata'))).filter((f) => /^\d+\.targets\.json$/.test(f));
  const newest = files.sort((a, b) => Number.parseInt(b, 10) - Number.parseInt(a, 10))[0];
  if (!newest) throw new Error('the repository has no versioned targets metadata');
  return join(repo, 'metadata', newest);
}

/** Registers the release with its change record, plans the stages and starts the rollout. */
export async function startRollout(o: {
  dir: string;
  clawback: Runner;
  console: DemoConsole;
  version: string;
  changeRecord: string;
  stages: StageSpec[];
}): Promise<{ id: string; stages: { name: string; devices: string[] }[] }> {
  const c = (argv: string[]) => o.clawback(['console', ...argv, '--json'], o.console.env);
  const targets = await newestTargets(join(o.dir, 'tuf-repo'));
  const reg = parseJson<{ id: string; changeRecord: { ok: boolean; problem?: string } }>(
    'release register',
    expectCode(
      'release register',
      await c([
        'release',
        'register',
        '--targets',
        targets,
        '--target',
        `${AGENT}/${o.version}/bundle.clawback`,
        '--change-record',
        o.changeRecord,
      ]),
      0,
    ),
  );
  if (!reg.changeRecord.ok) throw new Error(`change record refused: ${reg.changeRecord.problem}`);
  const stagesFile = join(o.dir, `stages-${o.version}.json`);
  await writeFile(stagesFile, `${JSON.stringify(o.stages, null, 2)}\n`);
  const created = parseJson<{ id: string; plan: { stages: { name: string; devices: string[] }[] } }>(
    'rollout create',
    expectCode(
      'rollout create',
      await c(['rollout', 'create', '--release', reg.id, '--stages', stagesFile]),
      0,
    ),
  );
  expectCode('rollout start', await c(['rollout', 'start', created.id]), 0);
  return { id: created.id, stages: created.plan.stages.map((s) => ({ name: s.name, devices: s.devices })) };
}

export async function showRollout(clawback: Runner, console: DemoConsole, id: string): Promise<RolloutView> {
  return parseJson<RolloutView>(
    'rollout show',
    expectCode('rollout show', await clawback(['console', 'rollout', 'show', id, '--json'], console.env), 0),
  );
}

const DONE = new Set(['completed', 'halted', 'aborted']);

/** Devices poll (each round, every device's timer fires) until the rollout completes or halts. */
export async function driveRollout(o: {
  clawback: Runner;
  updater: Runner;
  console: DemoConsole;
  devices: DemoDevice[];
  id: string;
  onRound: (round: ApplyOutcome[], view: RolloutView) => void;
  maxRounds?: number;
}): Promise<{ view: RolloutView; rounds: ApplyOutcome[][] }> {
  const rounds: ApplyOutcome[][] = [];
  let view = await showRollout(o.clawback, o.console, o.id);
  for (let i = 0; i < (o.maxRounds ?? 8) && !DONE.has(view.rollout.state); i++) {
    const round = await applyRound(o.devices, o.updater);
    rounds.push(round);
    view = await showRollout(o.clawback, o.console, o.id);
    o.onRound(round, view);
  }
  return { view, rounds };
}
