/** Rollouts in the demo: registered, planned and started with the real `clawback console` commands. */
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClawbackError, CoreErrors } from '@clawback/core';
import type { ApplyOutcome, DemoConsole, DemoDevice } from './fleet.js';
import { applyRound } from './fleet.js';
import { AGENT, type ReleaseOutcome } from './pipeline.js';
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

/** The stages of each rollout in the story: 1.0.0 everywhere at once, the others canary first. */
const STAGES: Record<string, StageSpec[]> = {
  '1.0.0': [{ name: 'everyone', percent: 100, maxFailures: 0 }],
  '1.1.0': [
    { name: 'canary', devices: 1, maxFailures: 0 },
    { name: '40%', percent: 40, maxFailures: 0 },
    { name: 'everyone', percent: 100, maxFailures: 0 },
  ],
  '1.2.0': [
    { name: 'canary', devices: 1, maxFailures: 0 },
    { name: 'everyone', percent: 100, maxFailures: 0 },
  ],
};

/** One polling round in a line: what each device that had something to do did. */
export function roundLine(round: ApplyOutcome[]): string {
  const acted = round.filter((r) => r.outcome !== 'up-to-date');
  if (acted.length === 0) return 'no device had anything to do';
  return acted
    .map(
      (r) =>
        `${r.device} ${r.outcome}${r.version ? ` ${r.version}` : ''}${r.reasonCode ? ` (${r.reasonCode})` : ''}`,
    )
    .join(', ');
}

/**
 * Step 6: 1.0.0 and 1.1.0 must reach every device; 1.2.0's canary must roll back by itself and
 * the rollout must halt. Anything else fails the demo, naming what happened.
 */
export async function rollOutReleases(o: {
  dir: string;
  clawback: Runner;
  updater: Runner;
  console: DemoConsole;
  devices: DemoDevice[];
  releases: ReleaseOutcome[];
  say: (line: string) => void;
}): Promise<{ rollouts: RolloutOutcome[]; canary: ApplyOutcome }> {
  const rollouts: RolloutOutcome[] = [];
  for (const [version, stages] of Object.entries(STAGES)) {
    const rel = o.releases.find((r) => r.version === version);
    if (!rel?.changeRecord)
      throw new ClawbackError(CoreErrors.INTERNAL, `release ${version} was not published`);
    const ro = await startRollout({ ...o, version, changeRecord: rel.changeRecord, stages });
    o.say(
      `  ${version}: rollout ${ro.id} — ${ro.stages.map((s) => `${s.name} ${s.devices.length}`).join(', ')}`,
    );
    const driven = await driveRollout({
      ...o,
      id: ro.id,
      onRound: (round, view) => o.say(`    ${roundLine(round)} → ${view.rollout.state}`),
    });
    rollouts.push({
      version,
      id: ro.id,
      stages: ro.stages,
      state: driven.view.rollout.state,
      haltReason: driven.view.rollout.halt_reason,
      rounds: driven.rounds,
    });
  }
  for (const ro of rollouts.slice(0, 2)) {
    if (ro.state !== 'completed')
      throw new ClawbackError(
        CoreErrors.INTERNAL,
        `demo: the ${ro.version} rollout ended ${ro.state}: ${ro.haltReason}`,
      );
  }
  const bad = rollouts[2] as RolloutOutcome;
  const canary = bad.rounds.flat().find((r) => r.version === '1.2.0' && r.outcome !== 'committed');
  if (bad.state !== 'halted' || canary?.outcome !== 'rolled-back') {
    throw new ClawbackError(
      CoreErrors.INTERNAL,
      `demo: the 1.2.0 rollout ended ${bad.state} (canary ${canary?.outcome ?? 'none'}), expected a rollback and an automatic halt`,
    );
  }
  return { rollouts, canary };
}
