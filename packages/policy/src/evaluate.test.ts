import { describe, expect, it } from 'vitest';
import { type CompiledPolicy, evaluate, loadPolicy } from './evaluate.js';
import type { PolicyRequest } from './match.js';

function rules(body: string): CompiledPolicy {
  return loadPolicy(`version: "1.0"\nrules:\n${body}  - {action: "*", effect: deny, reason: default}\n`);
}

function decide(p: CompiledPolicy, req: PolicyRequest): string {
  const d = evaluate(p, req);
  return `${d.decision}:${d.ruleIndex}`;
}

describe('evaluate: the policy from the issue', () => {
  const p = loadPolicy(`version: "1.0"
description: "SOC 2 CC6.1 — Logical access controls"
rules:
  - action: file.read
    path: "src/**"
    effect: allow
    reason: "CC6.1: Scoped read access to application source"
  - action: shell.execute
    command: "sudo *"
    effect: deny
    reason: "CC6.1: Prevent privilege escalation"
  - action: "*"
    effect: deny
    reason: "CC6.1: Deny-by-default baseline"
`);

  it('returns decision, rule index, rule and reason', () => {
    expect(evaluate(p, { action: 'file.read', path: 'src/a.ts' })).toEqual({
      decision: 'allow',
      ruleIndex: 0,
      rule: p.policy.rules[0],
      reason: 'CC6.1: Scoped read access to application source',
    });
  });

  it.each([
    ['sudo rm -rf /', 'deny:1'],
    ['  sudo   ls', 'deny:1'],
    ['sudo', 'deny:1'],
    ['"sudo" ls', 'deny:1'],
    ["s'udo' ls", 'deny:1'],
    ['/usr/bin/sudo ls', 'deny:1'],
    ['ls && sudo rm -rf /', 'deny:1'],
    ['ls\nsudo id', 'deny:1'],
    ['pseudo ls', 'deny:2'],
    ['sudoedit /etc/hosts', 'deny:2'],
    ['echo sudo', 'deny:2'],
  ])('command %j', (command, expected) => {
    expect(decide(p, { action: 'shell.execute', command })).toBe(expected);
  });
});

describe('evaluate: path globs', () => {
  const p = rules(`  - {action: file.read, path: "secrets/**", effect: deny, reason: s}
  - {action: file.read, path: "src/**", effect: allow, reason: src}
  - {action: file.read, path: "docs/*.md", effect: allow, reason: docs}
  - {action: file.read, path: "logs/", effect: allow, reason: logs}
  - {action: file.read, path: "/etc/agent/*.{yaml,yml}", effect: allow, reason: cfg}
  - {action: file.read, path: "**/*.pem", effect: deny, reason: pem}
  - {action: file.write, path: "out/**", effect: allow, reason: out}
`);
  it.each([
    ['src/a.ts', 'allow:1'],
    ['src/deep/er/a.ts', 'allow:1'],
    ['src', 'allow:1'], // `dir/**` also matches the directory itself
    ['src/', 'allow:1'], // trailing slash on the request is normalized away
    ['src/.env', 'allow:1'], // dotfiles are matched by wildcards
    ['./src/a.ts', 'allow:1'],
    ['src//a.ts', 'allow:1'],
    ['src/./a.ts', 'allow:1'],
    ['src/../secrets/k', 'deny:0'],
    ['src/../../etc/passwd', 'deny:-1'], // a relative path that climbs above its start: refused
    ['secrets/.hidden', 'deny:0'], // a deny cannot be side-stepped with a dotfile
    ['docs/a.md', 'allow:2'],
    ['docs/sub/a.md', 'deny:7'], // `*` does not cross `/`
    ['docs/.a.md', 'allow:2'],
    ['logs', 'allow:3'], // a trailing slash in a rule = the directory and everything under it
    ['logs/2026/01/x.log', 'allow:3'],
    ['logsx/a', 'deny:7'],
    ['/etc/agent/a.yaml', 'allow:4'],
    ['/etc/agent/a.yml', 'allow:4'],
    ['/etc/agent/a.json', 'deny:7'],
    ['/etc/agent/../shadow', 'deny:7'],
    ['/../etc/agent/a.yaml', 'allow:4'], // `..` cannot climb above `/`
    ['etc/agent/a.yaml', 'deny:7'], // relative does not match an absolute pattern
    ['a/b/c.pem', 'deny:5'],
    ['c.pem', 'deny:5'],
    ['SRC/a.ts', 'deny:7'], // case-sensitive
  ])('file.read %j', (path, expected) => {
    expect(decide(p, { action: 'file.read', path })).toBe(expected);
  });

  it('keeps actions apart: a file.read allow does not allow file.write', () => {
    expect(decide(p, { action: 'file.write', path: 'src/a.ts' })).toBe('deny:7');
    expect(decide(p, { action: 'file.write', path: 'out/a' })).toBe('allow:6');
  });
});

describe('evaluate: command globs', () => {
  const p = rules(`  - {action: shell.execute, command: "git push *", effect: deny, reason: nopush}
  - {action: shell.execute, command: "git *", effect: allow, reason: git}
  - {action: shell.execute, command: "npm test", effect: allow, reason: test}
  - {action: shell.execute, command: "npm run lint:*", effect: allow, reason: lint}
  - {action: shell.execute, command: "echo '*'", effect: allow, reason: literal-star}
  - {action: shell.execute, command: "ls * -l", effect: allow, reason: middle}
  - {action: process.spawn, command: "/opt/bin/tool *", effect: allow, reason: tool}
`);
  it.each([
    ['git status', 'allow:1'],
    ['git', 'allow:1'], // a trailing `*` word also matches no words
    ['git push origin main', 'deny:0'],
    ['git   push', 'deny:0'],
    ["git 'push' --force", 'deny:0'],
    ['/usr/bin/git push', 'deny:0'], // deny rules also match the program's basename
    ['/usr/bin/git status', 'deny:7'], // allow rules do not: /tmp/evil/git is not git
    ['npm test', 'allow:2'],
    ['npm test --watch', 'deny:7'], // no `*`: exactly these words
    ['npm run lint:fix', 'allow:3'],
    ['npm run lint:', 'allow:3'],
    ['npm run lint', 'deny:7'],
    ['echo *', 'allow:4'],
    ["echo '*'", 'allow:4'],
    ['echo hello', 'deny:7'], // the quoted `*` in the rule is literal
    ['ls -l', 'allow:5'],
    ['ls a b c -l', 'allow:5'],
    ['ls a b', 'deny:7'],
    ['git status; rm -rf /', 'deny:7'], // every simple command must be allowed
    ['git status | sh', 'deny:7'],
    ['git status && git log', 'allow:1'],
    ['git log $(rm -rf /)', 'deny:0'], // substitution: opaque; conditioned allows cannot match, conditioned denies do
    ['git log `id`', 'deny:0'],
    ['git log > /etc/passwd', 'deny:0'], // redirection: opaque too
    ['git log "$(id)"', 'deny:0'],
    ["git log '$(id)'", 'allow:1'], // single quotes: literal text, not a substitution
    ['git log $HOME', 'deny:0'], // a variable expands to text the policy cannot see
    ['git log $' + '{X}', 'deny:0'], // (split so the linter does not take it for a template)
    ['git log "price: $5"', 'deny:0'],
    ['git log costs $', 'allow:1'], // a lone `$` expands to nothing else
    ["git log 'unterminated", 'deny:0'], // unreadable: fail closed
    ['git commit -m "a message; with semicolon"', 'allow:1'], // quoted separators do not split
  ])('shell.execute %j', (command, expected) => {
    expect(decide(p, { action: 'shell.execute', command })).toBe(expected);
  });

  it('opaque commands still hit conditioned deny rules (fail closed)', () => {
    const q = rules(`  - {action: shell.execute, command: "rm *", effect: deny, reason: no-rm}
  - {action: shell.execute, effect: allow, reason: any-shell}
`);
    expect(decide(q, { action: 'shell.execute', command: 'echo $(id)' })).toBe('deny:0');
    expect(decide(q, { action: 'shell.execute', command: 'echo hi' })).toBe('allow:1');
  });

  it('an expansion cannot smuggle a denied program past a broad allow', () => {
    const q = rules(`  - {action: shell.execute, command: "sudo *", effect: deny, reason: no-sudo}
  - {action: shell.execute, command: "*", effect: allow, reason: any-command}
`);
    expect(decide(q, { action: 'shell.execute', command: '$' + '{EMPTY}sudo id' })).toBe('deny:0');
    expect(decide(q, { action: 'shell.execute', command: 'su$()do id' })).toBe('deny:0');
    expect(decide(q, { action: 'shell.execute', command: 'ls -l' })).toBe('allow:1');
  });

  it('process.spawn uses the same word matching', () => {
    expect(decide(p, { action: 'process.spawn', command: '/opt/bin/tool --x 1' })).toBe('allow:6');
    expect(decide(p, { action: 'process.spawn', command: 'tool --x 1' })).toBe('deny:7');
  });
});

describe('evaluate: URLs, hosts and names', () => {
  const p =
    rules(`  - {action: network.http, url: "https://api.github.com/repos/**", effect: allow, reason: gh}
  - {action: network.http, url: "https://*.example.com/**", effect: allow, reason: ex}
  - {action: network.http, url: "http://localhost:*/health", effect: allow, reason: local}
  - {action: network.http, host: "**.internal.test", effect: allow, reason: internal}
  - {action: network.connect, host: "db.internal.test:5432", effect: allow, reason: db}
  - {action: network.connect, host: "cache.internal.test", effect: allow, reason: cache}
  - {action: env.read, name: "AGENT_*", effect: allow, reason: env}
  - {action: secret.read, name: "agent/mqtt-?", effect: allow, reason: secret}
`);
  it.each([
    ['https://api.github.com/repos/a/b', 'allow:0'],
    ['https://API.GitHub.com/repos/a/b', 'allow:0'], // host is case-insensitive
    ['https://api.github.com:443/repos/a', 'allow:0'], // default port written out
    ['https://api.github.com:8443/repos/a', 'deny:8'], // no port in the rule = default port only
    ['http://api.github.com/repos/a', 'deny:8'], // scheme must match
    ['https://api.github.com/repos/../user', 'deny:8'], // dot segments are resolved first
    ['https://api.github.com/repos/%2e%2e/user', 'deny:8'],
    ['https://attacker.test@api.github.com/repos/x', 'allow:0'], // userinfo is not the host
    ['https://api.github.com.attacker.test/repos/x', 'deny:8'],
    ['https://api.github.com/repos?x=1', 'allow:0'], // query is ignored; path /repos matches /repos/**
    ['https://a.example.com/x', 'allow:1'],
    ['https://a.b.example.com/x', 'deny:8'], // `*` is one label
    ['https://example.com/x', 'deny:8'],
    ['http://localhost:8080/health', 'allow:2'],
    ['http://localhost/health', 'allow:2'], // `:*` accepts the default port too
    ['https://svc.internal.test/x', 'allow:3'],
    ['https://a.b.internal.test:9000/x', 'allow:3'], // a host rule ignores the port
    ['not a url', 'deny:8'],
  ])('network.http %j', (url, expected) => {
    expect(decide(p, { action: 'network.http', url })).toBe(expected);
  });

  it.each([
    ['db.internal.test:5432', 'allow:4'],
    ['db.internal.test:5433', 'deny:8'],
    ['db.internal.test', 'deny:8'], // the rule needs a port, the request has none: unknown -> no allow
    ['cache.internal.test:6379', 'allow:5'],
    ['CACHE.internal.test.', 'allow:5'],
  ])('network.connect %j', (host, expected) => {
    expect(decide(p, { action: 'network.connect', host })).toBe(expected);
  });

  it('matches env and secret names', () => {
    expect(decide(p, { action: 'env.read', name: 'AGENT_ID' })).toBe('allow:6');
    expect(decide(p, { action: 'env.read', name: 'agent_id' })).toBe('deny:8');
    expect(decide(p, { action: 'secret.read', name: 'agent/mqtt-1' })).toBe('allow:7');
    expect(decide(p, { action: 'secret.read', name: 'agent/mqtt-12' })).toBe('deny:8');
  });
});

describe('evaluate: requests that cannot be judged are denied', () => {
  const p = rules('  - {action: "file.*", effect: allow, reason: files}\n');
  it.each([
    [{ action: 'file.chmod', path: 'a' }, /unknown action/],
    [{ action: 'file.read' }, /no path/],
    [{ action: 'file.read', command: 'ls' }, /takes path, not command/],
    [{ action: 'file.read', path: '' }, /empty/],
    [{ action: 'file.read', path: 'a\0b' }, /NUL/],
    [{ action: 'network.http', url: 'https://a.example/', host: 'b.example' }, /not both/],
    [{ action: 'file.read', path: '../outside' }, /climbs above/],
  ] as [PolicyRequest, RegExp][])('%j', (req, reason) => {
    const d = evaluate(p, req);
    expect(d.decision).toBe('deny');
    expect(d.ruleIndex).toBe(-1);
    expect(d.reason).toMatch(reason);
  });

  it('namespace wildcards cover every action of the namespace', () => {
    expect(decide(p, { action: 'file.delete', path: 'x' })).toBe('allow:0');
    expect(decide(p, { action: 'env.read', name: 'X' })).toBe('deny:1');
  });
});
