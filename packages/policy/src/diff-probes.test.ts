/**
 * Cross-check of diff's probe search against brute force: for many seeded random
 * pairs of policies built from path globs of the shapes the docs call complete
 * (literal, prefix/**, prefix/*, *.ext, **\/*.ext and their intersections), every
 * path in a small universe is evaluated under both policies; diff must report a
 * widening exactly when brute force finds one.
 */
import { describe, expect, it } from 'vitest';
import { diffPolicies } from './diff.js';
import { evaluate, loadPolicy } from './evaluate.js';

const PATTERNS = [
  'src/**',
  'secrets/**',
  '**/*.env',
  'src/*',
  'a/b',
  '**',
  'src/a/**',
  '*.env',
  'secrets/*.env',
  'a/**',
  'b',
  'src/b/*.env',
];
const SEGMENTS = ['src', 'secrets', 'a', 'b', '.h', 'x.env'];

const universe: string[] = [];
for (const s1 of SEGMENTS) {
  universe.push(s1);
  for (const s2 of SEGMENTS) {
    universe.push(`${s1}/${s2}`);
    for (const s3 of SEGMENTS) universe.push(`${s1}/${s2}/${s3}`);
  }
}

function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

function randomPolicy(next: () => number): string {
  const n = 1 + Math.floor(next() * 4);
  const rules = Array.from({ length: n }, () => {
    const path = PATTERNS[Math.floor(next() * PATTERNS.length)];
    const effect = next() < 0.5 ? 'allow' : 'deny';
    return `  - {action: file.read, path: "${path}", effect: ${effect}, reason: r}\n`;
  });
  return `version: "1.0"\nrules:\n${rules.join('')}  - {action: "*", effect: deny, reason: default}\n`;
}

const COMMAND_PATTERNS = [
  'git *',
  'git push *',
  'npm test',
  'npm *',
  '*',
  'sudo *',
  'git * --force',
  'ls -l',
  'npm run lint:*',
];
const WORDS = [
  'git',
  'push',
  'npm',
  'test',
  'sudo',
  'ls',
  '-l',
  '--force',
  'x',
  '/usr/bin/sudo',
  '/usr/bin/git',
  'run',
  'lint:fix',
];
const commands: string[] = [];
for (const a of WORDS) {
  commands.push(a);
  for (const b of WORDS) {
    commands.push(`${a} ${b}`);
    for (const c of WORDS) commands.push(`${a} ${b} ${c}`);
  }
}

function randomCommandPolicy(next: () => number): string {
  const n = 1 + Math.floor(next() * 4);
  const rules = Array.from({ length: n }, () => {
    const command = COMMAND_PATTERNS[Math.floor(next() * COMMAND_PATTERNS.length)];
    const effect = next() < 0.5 ? 'allow' : 'deny';
    return `  - {action: shell.execute, command: "${command}", effect: ${effect}, reason: r}\n`;
  });
  return `version: "1.0"\nrules:\n${rules.join('')}  - {action: "*", effect: deny, reason: default}\n`;
}

describe('diff probes vs brute force', () => {
  it('finds a widened command whenever brute force does (200 random policy pairs)', () => {
    const next = rng(7);
    let widenedPairs = 0;
    for (let i = 0; i < 200; i++) {
      const a = loadPolicy(randomCommandPolicy(next));
      const b = loadPolicy(randomCommandPolicy(next));
      const brute = commands.filter(
        (command) =>
          evaluate(a, { action: 'shell.execute', command }).decision === 'deny' &&
          evaluate(b, { action: 'shell.execute', command }).decision === 'allow',
      );
      const found = diffPolicies(a, b).widened.filter((w) => w.action === 'shell.execute');
      if (brute.length > 0) {
        widenedPairs += 1;
        expect(found.length > 0, `pair ${i}: brute force found ${brute.slice(0, 3).join(' | ')}`).toBe(true);
      }
    }
    expect(widenedPairs).toBeGreaterThan(30);
  });

  it('finds a widening exactly when one exists (300 random policy pairs)', () => {
    const next = rng(42);
    let widenedPairs = 0;
    for (let i = 0; i < 300; i++) {
      const a = loadPolicy(randomPolicy(next));
      const b = loadPolicy(randomPolicy(next));
      const brute = universe.filter(
        (path) =>
          evaluate(a, { action: 'file.read', path }).decision === 'deny' &&
          evaluate(b, { action: 'file.read', path }).decision === 'allow',
      );
      const d = diffPolicies(a, b);
      const found = d.widened.filter((w) => w.action === 'file.read');
      expect(found.length > 0, `pair ${i}: brute force found ${brute.slice(0, 3).join(', ')}`).toBe(
        brute.length > 0,
      );
      if (brute.length > 0) widenedPairs += 1;
    }
    expect(widenedPairs).toBeGreaterThan(50); // the generator does produce widenings
  });
});
