import { describe, expect, it } from 'vitest';
import { parseCases, runCases } from './cases.js';
import { loadPolicy } from './evaluate.js';

const policy = loadPolicy(`version: "1.0"
rules:
  - {action: file.read, path: "src/**", effect: allow, reason: src}
  - {action: env.read, name: "AGENT_*", effect: allow, reason: env}
  - {action: "*", effect: deny, reason: default}
`);

describe('policy cases', () => {
  it('passes matching cases and names each miss', () => {
    const { cases, errors } = parseCases(`cases:
  - {case: reads source, action: file.read, path: src/a.ts, expect: allow, rule: 0}
  - {case: env by name, action: env.read, name: AGENT_ID, expect: allow}
  - {case: wrong expectation, action: file.read, path: etc/passwd, expect: allow}
  - {case: wrong rule, action: file.write, path: src/a.ts, expect: deny, rule: 0}
`);
    expect(errors).toEqual([]);
    const r = runCases(policy, cases);
    expect(r).toMatchObject({ ok: false, passed: 2, failed: 2 });
    expect(r.results[2]?.miss).toBe(
      'case "wrong expectation" (cases[2]): expected allow, got deny by rules[2] ("default")',
    );
    expect(r.results[3]?.miss).toMatch(/expected rules\[0\] to decide, got rules\[2\]/);
  });

  it('reports every malformed case with its path', () => {
    const { errors } = parseCases(`cases:
  - {action: file.nope, path: x, expect: allow}
  - {action: file.read, command: ls, expect: maybe, rule: -3, extra: 1}
  - 7
`);
    expect(errors.map((e) => e.path)).toEqual([
      'cases[0].action',
      'cases[1].extra',
      'cases[1].expect',
      'cases[1].rule',
      'cases[1].command',
      'cases[2]',
    ]);
    expect(parseCases('cases: []').errors[0]?.path).toBe('cases');
    expect(parseCases('cases: [').errors[0]?.path).toBe('(yaml)');
  });
});
