// Replays every change-control scenario through the real composed Octokit with a fake fetch
// (no network), and checks that each response GitHub would send matches GitHub's own OpenAPI
// response schema, so the scenarios cannot drift from the real API shape.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyChangeRecord } from '@clawback/approvals';
import { generateKeyPair, signerFromKeyPair } from '@clawback/core';
import {
  approveCheckOnScenario,
  GITHUB_SCENARIO_DIR,
  type GitHubScenario,
  githubJsonSchemaDoc,
  githubOperationFor,
  loadGitHubScenario,
} from '@clawback/testing';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { SCENARIOS } from './scenarios.js';

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
const doc = githubJsonSchemaDoc();
ajv.addSchema(doc);

function validatorFor(operation: string, status: number) {
  const pointer = `${doc.$id}#/responses/${operation.replaceAll('~', '~0').replaceAll('/', '~1')}/statuses/${status}`;
  return ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
}

describe('scenario files', () => {
  it('are exactly what scenarios.ts generates (set CLAWBACK_WRITE_SCENARIOS=1 to regenerate)', () => {
    mkdirSync(GITHUB_SCENARIO_DIR, { recursive: true });
    for (const s of SCENARIOS) {
      const file = join(GITHUB_SCENARIO_DIR, `${s.name}.json`);
      const text = `${JSON.stringify(s, null, 2)}\n`;
      if (process.env.CLAWBACK_WRITE_SCENARIOS === '1') writeFileSync(file, text);
      // Compared as JSON values: the files may be reformatted by Biome, never edited by hand.
      expect(JSON.parse(readFileSync(file, 'utf8')), `${file} is stale`).toEqual(JSON.parse(text));
    }
  });
});

describe.each(SCENARIOS.map((s) => [s.name, s] as const))('scenario %s', (name, built) => {
  it('every response matches the GitHub OpenAPI response schema', () => {
    const scenario: GitHubScenario = loadGitHubScenario(name);
    for (const x of scenario.exchanges) {
      const op = githubOperationFor(x.method, x.path);
      expect(op, `${x.method} ${x.path} is not an extracted operation`).toBeDefined();
      const validate = validatorFor(op as string, x.status);
      const ok = validate(x.response);
      expect(ok, `${x.method} ${x.path} ${x.status}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it(`decides ${built.expect?.status} naming ${built.expect?.failedRules.join(', ') || 'no failed rule'}`, async () => {
    const pair = generateKeyPair();
    const { scenario, result, gh } = await approveCheckOnScenario(name, { signer: signerFromKeyPair(pair) });
    expect(gh.unmatched).toEqual([]);
    const d = result.decision;
    expect(d.status).toBe(scenario.expect?.status);
    expect([...d.failedRules].sort()).toEqual([...(scenario.expect?.failedRules ?? [])].sort());
    for (const id of scenario.expect?.findings ?? []) expect(d.findings.map((f) => f.id)).toContain(id);
    // The signed record verifies and carries the sampled facts.
    const v = verifyChangeRecord(result.envelope, {
      trustedKeys: [pair.publicKey],
      expectedCommit: scenario.input.commit,
      requireApproved: false,
    });
    expect(v.predicate.decision.failedRules).toEqual(d.failedRules);
    expect(v.predicate.evidence.apiBase).toBe('https://api.github.com');
    expect(v.predicate.policy.ref).toMatch(/^[0-9a-f]{40}$/);
  });
});

describe('pagination beyond the first page', () => {
  it('reads every page of reviews and commits (Link rel="next")', async () => {
    const { result: r, gh } = await approveCheckOnScenario('paginated-reviews');
    for (const p of [2, 3, 4])
      expect(gh.requests.some((q) => q.includes('/pulls/42/reviews') && q.includes(`page=${p}`))).toBe(true);
    expect(gh.requests.some((q) => q.includes('/pulls/42/commits') && q.includes('page=2'))).toBe(true);
    expect(r.evidence.reviews).toHaveLength(10);
    expect(r.evidence.pullRequest?.commits.map((c) => c.authorLogin)).toEqual(['alice', 'alice', 'dave']);
    expect(r.decision.qualifyingApprovers).toEqual(['bob']);
    expect(r.envelope).toBeNull();
  });
});
