import { describe, expect, it } from 'vitest';
import { validatePolicy } from './validate.js';

const CATCH_ALL = `  - action: "*"
    effect: deny
    reason: "Deny-by-default baseline"
`;

function policy(rules: string, head = 'version: "1.0"\n'): string {
  return `${head}rules:\n${rules}${CATCH_ALL}`;
}

function errorsOf(text: string): string[] {
  return validatePolicy(text).errors.map((e) => `${e.path}: ${e.message}`);
}

describe('validatePolicy', () => {
  it('accepts a minimal deny-all policy and digests the exact bytes', () => {
    const text = policy('');
    const v = validatePolicy(text);
    expect(v.ok).toBe(true);
    expect(v.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(validatePolicy(`${text}\n`).sha256).not.toBe(v.sha256);
  });

  it('reports every problem at once, each with its path and line', () => {
    const v = validatePolicy(`version: 1.0
extra: true
rules:
  - action: file_read
    path: "src/**"
    effect: allo
  - action: shell.execute
    path: "x"
    effect: deny
    reason: ""
    colour: red
  - action: file.read
    path: "a{b"
    effect: allow
    reason: ok
`);
    expect(v.ok).toBe(false);
    const got = v.errors.map((e) => `${e.line} ${e.path}`);
    expect(got).toEqual([
      '2 extra',
      '1 version',
      '4 rules[0].action',
      '6 rules[0].effect',
      '4 rules[0].reason',
      '11 rules[1].colour',
      '10 rules[1].reason',
      '8 rules[1].path',
      '13 rules[2].path',
      '12 rules[2]',
    ]);
    expect(v.errors.find((e) => e.path === 'rules[0].effect')?.message).toBe('must be allow or deny');
    expect(v.errors.find((e) => e.path === 'rules[0].action')?.message).toMatch(/did you mean file\.read/);
    expect(v.errors.find((e) => e.path === 'version')?.message).toMatch(/quoted string/);
    expect(v.errors.find((e) => e.path === 'rules[1].path')?.message).toMatch(
      /not a field of shell\.execute/,
    );
  });

  it.each([
    ['missing version', `rules:\n${CATCH_ALL}`, 'version: is required'],
    ['unsupported version', policy('', 'version: "2.0"\n'), 'version: unsupported version'],
    ['missing rules', 'version: "1.0"\n', 'rules: is required'],
    ['rules not a list', 'version: "1.0"\nrules: {a: 1}\n', 'rules: must be a list'],
    ['empty rules', 'version: "1.0"\nrules: []\n', 'rules: must not be empty'],
    ['rule not a mapping', policy('  - just a string\n'), 'rules[0]: must be a mapping'],
    [
      'description not a string',
      policy('', 'version: "1.0"\ndescription: [1]\n'),
      'description: must be a string',
    ],
    ['missing action', policy('  - {effect: allow, reason: r}\n'), 'rules[0].action: is required'],
    [
      'unknown action',
      policy('  - {action: file.chmod, effect: allow, reason: r}\n'),
      'rules[0].action: unknown action',
    ],
    [
      'unknown namespace',
      policy('  - {action: "gpu.*", effect: allow, reason: r}\n'),
      'rules[0].action: unknown action',
    ],
    [
      'bad effect',
      policy('  - {action: file.read, effect: Allow, reason: r}\n'),
      'rules[0].effect: must be allow or deny',
    ],
    ['missing reason', policy('  - {action: file.read, effect: allow}\n'), 'rules[0].reason: is required'],
    [
      'blank reason',
      policy('  - {action: file.read, effect: allow, reason: "  "}\n'),
      'rules[0].reason: is required',
    ],
    [
      'id not a string',
      policy('  - {id: 3, action: file.read, effect: allow, reason: r}\n'),
      'rules[0].id: must be a non-empty string',
    ],
    [
      'duplicate id',
      policy(
        '  - {id: a, action: file.read, effect: allow, reason: r}\n  - {id: a, action: file.list, effect: allow, reason: r}\n',
      ),
      'rules[1].id: duplicates the id of rules[0]',
    ],
    [
      'unknown rule field',
      policy('  - {action: file.read, effect: allow, reason: r, when: x}\n'),
      'rules[0].when: unknown field',
    ],
    [
      'field not valid for action',
      policy('  - {action: file.read, command: ls, effect: allow, reason: r}\n'),
      'rules[0].command: is not a field of file.read',
    ],
    [
      'field on catch-all wildcard',
      policy('  - {action: "*", path: x, effect: deny, reason: r}\n'),
      'rules[0].path: is not a field of *',
    ],
    [
      'url on network.*',
      policy('  - {action: "network.*", url: "https://a/", effect: allow, reason: r}\n'),
      'rules[0].url: is not a field of network.*',
    ],
    [
      'glob not a string',
      policy('  - {action: file.read, path: [a, b], effect: allow, reason: r}\n'),
      'rules[0].path: must be a string',
    ],
    [
      'empty path',
      policy('  - {action: file.read, path: "", effect: allow, reason: r}\n'),
      'rules[0].path: must not be empty',
    ],
    [
      'unbalanced bracket',
      policy('  - {action: file.read, path: "a[b", effect: allow, reason: r}\n'),
      'rules[0].path: is not a valid glob',
    ],
    [
      'negated glob',
      policy('  - {action: file.read, path: "!src/**", effect: allow, reason: r}\n'),
      'rules[0].path: negated globs',
    ],
    [
      'dot-dot in glob',
      policy('  - {action: file.read, path: "src/../etc/*", effect: allow, reason: r}\n'),
      'rules[0].path: must not contain',
    ],
    [
      'unterminated quote in command',
      policy(`  - {action: shell.execute, command: "echo 'hi", effect: allow, reason: r}\n`),
      'rules[0].command: cannot be read: unterminated single quote',
    ],
    [
      'command list',
      policy('  - {action: shell.execute, command: "ls; rm *", effect: allow, reason: r}\n'),
      'rules[0].command: must be one simple command',
    ],
    [
      'command redirection',
      policy('  - {action: shell.execute, command: "echo * > /tmp/x", effect: allow, reason: r}\n'),
      'rules[0].command: must not contain expansions or redirections',
    ],
    [
      'empty command',
      policy('  - {action: shell.execute, command: "  ", effect: deny, reason: r}\n'),
      'rules[0].command: must not be empty',
    ],
    [
      'url without scheme',
      policy('  - {action: network.http, url: "api.github.com/**", effect: allow, reason: r}\n'),
      'rules[0].url: must look like',
    ],
    [
      'url with query',
      policy('  - {action: network.http, url: "https://a.example/x?y=1", effect: allow, reason: r}\n'),
      'rules[0].url: must not contain a query',
    ],
    [
      'bad host glob',
      policy('  - {action: network.connect, host: "a_b!.example", effect: allow, reason: r}\n'),
      'rules[0].host: must be a host name',
    ],
    [
      'empty name',
      policy('  - {action: env.read, name: "", effect: allow, reason: r}\n'),
      'rules[0].name: must not be empty',
    ],
    [
      'no final catch-all',
      'version: "1.0"\nrules:\n  - {action: file.read, effect: allow, reason: r}\n',
      'rules[0]: the last rule must be the catch-all deny',
    ],
    [
      'catch-all allows',
      'version: "1.0"\nrules:\n  - {action: "*", effect: allow, reason: r}\n',
      'rules[0]: the last rule must be the catch-all deny',
    ],
    [
      'unknown top-level field',
      policy('', 'version: "1.0"\ndefaultAction: deny\n'),
      'defaultAction: unknown field',
    ],
    ['not YAML', 'version: "1.0"\nrules: [\n', '(yaml): '],
    ['duplicate key', 'version: "1.0"\nversion: "1.0"\nrules: []\n', '(yaml): Map keys must be unique'],
    ['not a mapping', '- a\n- b\n', '(document): must be a mapping'],
  ])('%s', (_name, text, expected) => {
    const errors = errorsOf(text);
    expect(
      errors.some((e) => e.startsWith(expected)),
      errors.join('\n'),
    ).toBe(true);
    expect(validatePolicy(text).ok).toBe(false);
  });

  it('warns about shadowed rules without failing', () => {
    const v = validatePolicy(
      policy(`  - {action: file.read, path: "src/**", effect: allow, reason: a}
  - {action: file.read, path: "src/secret/*.key", effect: deny, reason: b}
  - {action: "file.*", path: "**", effect: deny, reason: c}
  - {action: file.write, path: "tmp/x", effect: allow, reason: d}
  - {action: shell.execute, command: "git *", effect: allow, reason: e}
  - {action: shell.execute, command: "git push origin main", effect: deny, reason: f}
  - {action: env.read, name: "AGENT_*", effect: allow, reason: g}
  - {action: env.read, name: "AGENT_ID", effect: deny, reason: h}
`),
    );
    expect(v.ok).toBe(true);
    expect(v.warnings.map((w) => w.path)).toEqual(['rules[1]', 'rules[3]', 'rules[5]', 'rules[7]']);
    expect(v.warnings[2]?.message).toMatch(/only decides commands/);
    expect(v.warnings[0]?.message).toMatch(/rules\[0\]/);
  });

  it('warns about allow rules without any condition', () => {
    const v = validatePolicy(
      policy(`  - {action: shell.execute, effect: allow, reason: a}
  - {action: "network.*", effect: allow, reason: b}
`),
    );
    expect(v.ok).toBe(true);
    expect(v.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      'rules[0]: allows every shell.execute request (no command): least privilege usually wants a pattern',
      'rules[1]: allows every network.* request (no host): least privilege usually wants a pattern',
    ]);
  });

  it('says a deny after a broader allow only decides unreadable commands', () => {
    const v = validatePolicy(
      policy(`  - {action: shell.execute, command: "*", effect: allow, reason: a}
  - {action: shell.execute, command: "sudo *", effect: deny, reason: b}
`),
    );
    expect(v.warnings.map((w) => w.path)).toEqual(['rules[1]']);
    expect(v.warnings[0]?.message).toMatch(/only decides commands\/URLs that cannot be read/);
  });
});
