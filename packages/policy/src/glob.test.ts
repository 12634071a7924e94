import picomatch from 'picomatch';
import { describe, expect, it } from 'vitest';
import { evaluate, loadPolicy } from './evaluate.js';
import { compilePathGlob, expandBraces, normalizePathPattern } from './glob.js';

/** picomatch (dot: true) is the reference for path glob semantics. */
function reference(pattern: string, path: string): boolean {
  return picomatch.makeRe(pattern, { dot: true }).test(path);
}

function ours(pattern: string, path: string): boolean {
  const n = normalizePathPattern(pattern);
  if ('error' in n) throw new Error(n.error);
  return compilePathGlob(n.pattern)(path.split('/'));
}

const PATTERNS = [
  'src/**',
  '**',
  '**/*.pem',
  '*.md',
  'docs/*.md',
  'a/**/b',
  'a/**/b/**/c',
  '/etc/**',
  '/etc/*.conf',
  '**/x',
  'src/*',
  'a?c',
  '[ab]x',
  '[a-c]*',
  'src/{a,b}/*.ts',
  '{src,test}/**',
  'a*b*c',
  '**/.env',
  '*',
  '*/x',
  'a/**b',
  'x/*/y',
  '**/a/**',
  '/**',
  'src/**/*.{ts,js}',
  '\\*lit',
  'a\\?b',
];
const SEGS = [
  'src',
  'a',
  'b',
  'c',
  'x',
  'y',
  '.env',
  'k.pem',
  'r.md',
  'abc',
  'axbyc',
  'a.ts',
  'b.js',
  '*lit',
  'a?b',
  'etc',
  'x.conf',
  'ab',
];

function paths(): string[] {
  const out: string[] = [];
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < 600; i++) {
    const n = 1 + Math.floor(next() * 4);
    const segs = Array.from({ length: n }, () => SEGS[Math.floor(next() * SEGS.length)]);
    out.push((next() < 0.25 ? '/' : '') + segs.join('/'));
  }
  return out;
}

describe('path globs', () => {
  it('agree with picomatch (dot: true) on generated paths', () => {
    const all = paths();
    const disagreements: string[] = [];
    for (const p of PATTERNS) {
      for (const path of all) {
        // Known, deliberate difference: picomatch lets `*` match the empty first segment of
        // an absolute path (`*/x` matches `/x`); here a wildcard never matches an empty segment.
        if (p.startsWith('*/') && path.startsWith('/')) continue;
        if (ours(p, path) !== reference(p, path))
          disagreements.push(`${p} vs ${path}: picomatch ${reference(p, path)}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(ours('*/x', '/x')).toBe(false);
  });

  it('expands braces, nested, and keeps comma-less braces literal', () => {
    expect(expandBraces('a/{b,c{d,e}}/f')).toEqual(['a/b/f', 'a/cd/f', 'a/ce/f']);
    expect(expandBraces('{x}')).toEqual(['\\{x\\}']);
    expect(expandBraces('a{b')).toMatchObject({ error: expect.stringMatching(/unterminated/) });
    expect(expandBraces('{a,b}{c,d}{e,f}{g,h}{i,j}{k,l}{m,n}')).toMatchObject({
      error: expect.stringMatching(/more than 64/),
    });
  });

  it('stays linear on adversarial requests (these hang a backtracking regex)', () => {
    const p = loadPolicy(`version: "1.0"
rules:
  - {action: file.read, path: "**/*a*a*a*a*a*b", effect: allow, reason: r}
  - {action: file.read, path: "**/*a*a*b/**/*a*a*b/**/x", effect: allow, reason: r}
  - {action: shell.execute, command: "x * * * * y", effect: allow, reason: r}
  - {action: shell.execute, command: "*a*a*a*a*a*b *", effect: allow, reason: r}
  - {action: env.read, name: "*a*a*a*a*a*b", effect: allow, reason: r}
  - {action: "*", effect: deny, reason: default}
`);
    const path = `${'a'.repeat(250)}b/`.repeat(15) + 'a'.repeat(250);
    expect(evaluate(p, { action: 'file.read', path }).decision).toBe('deny');
    expect(evaluate(p, { action: 'shell.execute', command: `x ${'a '.repeat(3000)}` }).decision).toBe('deny');
    expect(evaluate(p, { action: 'shell.execute', command: 'a'.repeat(20000) }).decision).toBe('deny');
    expect(evaluate(p, { action: 'env.read', name: 'a'.repeat(1000) }).decision).toBe('deny');
    expect(evaluate(p, { action: 'file.read', path: 'a'.repeat(5000) }).ruleIndex).toBe(-1); // over the length cap
  });
});
