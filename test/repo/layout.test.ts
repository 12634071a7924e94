import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

function tracked(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  })
    .split('\n')
    .filter(Boolean);
}

describe('repository layout', () => {
  it('keeps only the agreed entries at the top level', () => {
    const allowed = new Set([
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'packages',
      '.github',
      'keys-template',
      'test',
      'runbooks',
      'docs',
      'README.md',
      '.ci',
      'examples',
    ]);
    const top = new Set(tracked().map((f) => f.split('/')[0] ?? ''));
    const extra = [...top].filter((t) => !allowed.has(t) && !t.startsWith('.'));
    expect(extra).toEqual([]);
  });

  it('never reads the steering folder (../shared) at build, test or run time', () => {
    const offenders = tracked().filter((f) => {
      if (!/\.(ts|mts|js|mjs|cjs|json|sh|ya?ml)$/.test(f) && !f.startsWith('.ci/')) return false;
      if (f === 'test/repo/layout.test.ts') return false;
      const text = readFileSync(`${root}${f}`, 'utf8');
      return /\.\.\/shared\b|\/work\/shared\b/.test(text);
    });
    expect(offenders).toEqual([]);
  });

  it('has no focused or skipped tests', () => {
    const offenders = tracked().filter((f) => {
      if (!/\.test\.(ts|mjs|js)$/.test(f) || f === 'test/repo/layout.test.ts') return false;
      return /\b(it|test|describe)\.(only|skip)\(|\bx(it|describe)\(/.test(
        readFileSync(`${root}${f}`, 'utf8'),
      );
    });
    expect(offenders).toEqual([]);
  });
});
