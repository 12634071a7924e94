import { describe, expect, it } from 'vitest';
import { plan } from './planner.js';
import { initialState, type Transaction, type TxnPhase, type UpdaterState } from './state.js';

const committed = {
  version: '1.0.0',
  digest: 'd1',
  targetPath: 'x/1.0.0/bundle.clawback',
  slot: 'a' as const,
};

function withTxn(phase: TxnPhase, patch: Partial<Transaction> = {}): UpdaterState {
  return {
    ...initialState(new Date(0)),
    committed,
    txn: {
      id: 't',
      reportId: 'r',
      startedAt: '2026-01-01T00:00:00Z',
      kind: 'update',
      target: {
        agent: 'x',
        version: '2.0.0',
        channel: 'stable',
        targetPath: 'x/2.0.0/bundle.clawback',
        length: 1,
        sha256: 'd2',
        hardwareIds: [],
        minUpdaterVersion: null,
      },
      from: committed,
      slot: 'b',
      phase,
      trialBoots: 1,
      outcome: null,
      failure: null,
      health: [],
      probation: null,
      policyHash: null,
      timings: {},
      ...patch,
    },
  };
}

const kinds = (state: UpdaterState, mode: Parameters<typeof plan>[0]['mode']) =>
  plan({ state, mode, maxBootAttempts: 3 }).map((s) => s.kind);

describe('planner', () => {
  it('plans nothing without a transaction', () => {
    expect(plan({ state: initialState(new Date(0)), mode: 'apply', maxBootAttempts: 3 })).toEqual([]);
  });

  it('plans the whole update from planned, and resumes from each persisted phase', () => {
    expect(kinds(withTxn('planned'), 'apply')).toEqual([
      'verifyRelease',
      'download',
      'writeSlot',
      'switch',
      'restart',
      'probation',
      'commit',
      'report',
      'finish',
    ]);
    expect(kinds(withTxn('downloaded'), 'apply')[0]).toBe('writeSlot');
    expect(kinds(withTxn('written'), 'apply')[0]).toBe('switch');
    expect(kinds(withTxn('switched'), 'apply')[0]).toBe('restart');
    expect(kinds(withTxn('restarted'), 'apply')[0]).toBe('probation');
  });

  it('never does pre-switch work (network) outside apply', () => {
    for (const mode of ['boot', 'probation', 'offline'] as const) {
      expect(kinds(withTxn('verified'), mode)).toEqual([]);
    }
  });

  it('plans rollback as a step once a failure is recorded', () => {
    expect(plan({ state: withTxn('unhealthy'), mode: 'offline', maxBootAttempts: 3 })).toEqual([
      { kind: 'rollback', from: 'b', to: 'a' },
      { kind: 'report', outcome: 'rolled-back' },
      { kind: 'finish' },
    ]);
  });

  it('cannot roll back a first install: the outcome is failed and the trial stays', () => {
    const s = withTxn('unhealthy', { from: null });
    expect(plan({ state: s, mode: 'offline', maxBootAttempts: 3 })[0]).toEqual({
      kind: 'rollback',
      from: 'b',
      to: null,
    });
    expect(plan({ state: s, mode: 'offline', maxBootAttempts: 3 })[1]).toEqual({
      kind: 'report',
      outcome: 'failed',
    });
  });

  it('counts boots and plans rollback past the limit without network', () => {
    expect(
      plan({ state: withTxn('restarted', { trialBoots: 2 }), mode: 'boot', maxBootAttempts: 3 }),
    ).toEqual([{ kind: 'countBoot', boots: 3, exceeded: false }]);
    expect(kinds(withTxn('restarted', { trialBoots: 3 }), 'boot')).toEqual([
      'countBoot',
      'rollback',
      'report',
      'finish',
    ]);
  });

  it('reports refusals and finishes', () => {
    expect(kinds(withTxn('rejected'), 'offline')).toEqual(['report', 'finish']);
    expect(kinds(withTxn('reported'), 'boot')).toEqual(['finish']);
  });
});
