// The sample policy in examples/ is the one the docs point operators at: it must stay valid.
import { readFileSync } from 'node:fs';
import { parseChangePolicy } from '@clawback/approvals';
import { expect, it } from 'vitest';

it('examples/change-policy.yaml is a valid change policy', () => {
  const text = readFileSync(new URL('../../examples/change-policy.yaml', import.meta.url), 'utf8');
  const p = parseChangePolicy(text, 'examples/change-policy.yaml');
  expect(p.checks.map((c) => c.name)).toEqual(['build', 'test']);
  expect(p.emergency?.retroWithinHours).toBe(48);
  expect(p.environments.production?.teams).toEqual(['release-managers']);
});
