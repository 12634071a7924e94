import { describe, expect, it } from 'vitest';
import { diffPolicies } from './diff.js';
import { evaluate, loadPolicy } from './evaluate.js';

const head = 'version: "1.0"\nrules:\n';
const tail = '  - {action: "*", effect: deny, reason: default}\n';
const pol = (body: string) => loadPolicy(`${head}${body}${tail}`);

describe('diffPolicies', () => {
  it('reports nothing for identical rules, even when the bytes differ', () => {
    const a = loadPolicy(`${head}  - {action: file.read, path: "src/**", effect: allow, reason: r}\n${tail}`);
    const b = loadPolicy(
      `# comment\n${head}  - {action: file.read, path: "src/**", effect: allow, reason: r}\n${tail}`,
    );
    const d = diffPolicies(a, b);
    expect(d.old.sha256).not.toBe(d.new.sha256);
    expect(d.identicalRules).toBe(true);
    expect(d).toMatchObject({
      added: [],
      removed: [],
      changed: [],
      moved: [],
      widened: [],
      narrowed: [],
      mayWiden: [],
      requiresApproval: false,
    });
  });

  it('detects a widened glob and gives a witness that replays', () => {
    const a = pol('  - {action: file.read, path: "src/*.ts", effect: allow, reason: r}\n');
    const b = pol('  - {action: file.read, path: "src/**", effect: allow, reason: r}\n');
    const d = diffPolicies(a, b);
    expect(d.requiresApproval).toBe(true);
    expect(d.widened).toHaveLength(1);
    const w = d.widened[0];
    expect(w?.action).toBe('file.read');
    const req = { action: 'file.read', path: w?.target?.value ?? '' };
    expect(evaluate(a, req).decision).toBe('deny');
    expect(evaluate(b, req).decision).toBe('allow');
    expect(d.changed).toEqual([]);
    expect(d.added.map((x) => x.index)).toEqual([0]);
    expect(d.removed.map((x) => x.index)).toEqual([0]);
  });

  it('detects a reordering that widens (allow moved ahead of a deny)', () => {
    const a = pol(`  - {action: file.read, path: "secrets/**", effect: deny, reason: no-secrets}
  - {action: file.read, path: "**", effect: allow, reason: read-all}
`);
    const b = pol(`  - {action: file.read, path: "**", effect: allow, reason: read-all}
  - {action: file.read, path: "secrets/**", effect: deny, reason: no-secrets}
`);
    const d = diffPolicies(a, b);
    expect(d.added).toEqual([]);
    expect(d.removed).toEqual([]);
    expect(d.moved).toHaveLength(1);
    expect(d.widened[0]).toMatchObject({
      action: 'file.read',
      before: { decision: 'deny', ruleIndex: 0 },
      after: { decision: 'allow', ruleIndex: 0 },
    });
    expect(d.widened[0]?.target?.value).toMatch(/^secrets(\/|$)/);
    expect(d.mayWiden.some((m) => /moved ahead of deny/.test(m.reason))).toBe(true);
  });

  it('finds widening at the intersection of two globs', () => {
    const a = pol(`  - {action: file.read, path: "**/*.env", effect: deny, reason: env}
  - {action: file.read, path: "app/**", effect: allow, reason: app}
`);
    const b = pol('  - {action: file.read, path: "app/**", effect: allow, reason: app}\n');
    const d = diffPolicies(a, b);
    const w = d.widened.find((x) => x.before.ruleIndex === 0);
    expect(w?.target?.value).toMatch(/^app\/.*\.env$/);
    expect(d.mayWiden.map((m) => m.reason)).toContain('deny rule rules[0] removed');
  });

  it('flags an effect flipped from deny to allow as a change that widens', () => {
    const a = pol('  - {id: push, action: shell.execute, command: "git push *", effect: deny, reason: r}\n');
    const b = pol('  - {id: push, action: shell.execute, command: "git push *", effect: allow, reason: r}\n');
    const d = diffPolicies(a, b);
    expect(d.changed).toHaveLength(1);
    expect(d.changed[0]?.fields).toEqual(['effect']);
    expect(d.widened.map((w) => w.action)).toEqual(['shell.execute']);
    expect(d.mayWiden[0]?.reason).toMatch(/now allows/);
  });

  it('finds widened commands, URLs, hosts and names', () => {
    const a = pol(`  - {action: shell.execute, command: "npm test", effect: allow, reason: r}
  - {action: network.http, url: "https://api.example.com/v1/**", effect: allow, reason: r}
  - {action: network.connect, host: "db.internal:5432", effect: allow, reason: r}
  - {action: env.read, name: "AGENT_ID", effect: allow, reason: r}
`);
    const b = pol(`  - {action: shell.execute, command: "npm *", effect: allow, reason: r}
  - {action: network.http, url: "https://*.example.com/**", effect: allow, reason: r}
  - {action: network.connect, host: "db.internal", effect: allow, reason: r}
  - {action: env.read, name: "AGENT_*", effect: allow, reason: r}
`);
    const d = diffPolicies(a, b);
    expect(d.widened.map((w) => w.action).sort()).toEqual([
      'env.read',
      'network.connect',
      'network.http',
      'shell.execute',
    ]);
    for (const w of d.widened) {
      const req = { action: w.action, [w.target?.field ?? 'path']: w.target?.value };
      expect(evaluate(a, req).decision, JSON.stringify(req)).toBe('deny');
      expect(evaluate(b, req).decision, JSON.stringify(req)).toBe('allow');
    }
  });

  it('reports narrowing separately and does not require approval for it alone', () => {
    const a = pol('  - {action: file.read, path: "**", effect: allow, reason: r}\n');
    const b = pol('  - {action: file.read, path: "src/**", effect: allow, reason: r}\n');
    const d = diffPolicies(a, b);
    expect(d.widened).toEqual([]);
    expect(d.narrowed.length).toBeGreaterThan(0);
    // the new allow is structurally an "added allow", which is flagged for review
    expect(d.mayWiden.map((m) => m.reason)).toEqual(['allow rule added at rules[0]']);
  });

  it('a wildcard action rule widens every action it covers', () => {
    const a = pol('  - {action: file.read, path: "data/**", effect: allow, reason: r}\n');
    const b = pol('  - {action: "file.*", path: "data/**", effect: allow, reason: r}\n');
    const d = diffPolicies(a, b);
    expect(d.widened.map((w) => w.action).sort()).toEqual(['file.delete', 'file.list', 'file.write']);
  });
});
