import { describe, expect, it } from 'vitest';
import { codeownersGlobs, ownersOf, parseCodeowners } from './codeowners.js';

describe('CODEOWNERS', () => {
  const rules = parseCodeowners(`# comment
*                 @acme/platform
*.md              @docs-team-lead   # inline comment
/policies/        @acme/policy-owners
apps/             @carol
/build/logs       @dave
agents/**/*.yaml  @erin
`);

  it('parses owners without @ and keeps line numbers', () => {
    expect(rules[0]).toEqual({ pattern: '*', owners: ['acme/platform'], line: 2 });
    expect(rules[1]?.owners).toEqual(['docs-team-lead']);
  });

  it('applies gitignore-style patterns; the last match wins', () => {
    expect(codeownersGlobs('/docs/')).toEqual(['docs/**']);
    expect(codeownersGlobs('*.js')).toEqual(['**/*.js', '**/*.js/**']);
    expect(
      ownersOf(rules, [
        'README.md',
        'src/index.ts',
        'policies/fleet.yaml',
        'x/apps/a.ts',
        'build/logs/1.txt',
        'src/build/logs/x',
        'agents/a/b/c.yaml',
      ]),
    ).toEqual({
      'README.md': ['docs-team-lead'],
      'src/index.ts': ['acme/platform'],
      'policies/fleet.yaml': ['acme/policy-owners'],
      'x/apps/a.ts': ['carol'],
      'build/logs/1.txt': ['dave'],
      'src/build/logs/x': ['acme/platform'],
      'agents/a/b/c.yaml': ['erin'],
    });
  });
});
