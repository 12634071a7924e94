import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseRepoConfig } from './config.js';

const template = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../keys-template/repo.yaml');

describe('repo.yaml', () => {
  it('accepts the shipped keys-template', () => {
    const c = parseRepoConfig(readFileSync(template, 'utf8'), 'keys-template/repo.yaml');
    expect(c.root).toMatchObject({ threshold: 2, keys: ['root-1', 'root-2', 'root-3'], expires: '365 days' });
    expect(c.timestamp.expiresMs).toBe(86_400_000);
    expect(c.timestamp.refreshBeforeMs).toBe(12 * 3_600_000);
  });

  it('reports every bad field at once, with its path', () => {
    const text = [
      'roles:',
      '  root: { threshold: 3, keys: [a, b] }',
      '  targets: { threshold: 1, keys: [release], expires: soon }',
      '  snapshot: { threshold: 0, keys: [online, online] }',
      '  mirror: { threshold: 1, keys: [x] }',
    ].join('\n');
    let problems: string[] = [];
    try {
      parseRepoConfig(text, 'repo.yaml');
    } catch (err) {
      expect((err as { code: string }).code).toBe('TUF_CONFIG_INVALID');
      problems = (err as { details: { problems: string[] } }).details.problems;
    }
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^roles\.root\.threshold: 3 is more than/),
        expect.stringMatching(/^roles\.targets\.expires: cannot read duration/),
        expect.stringMatching(/^roles\.snapshot\.keys: lists a key twice/),
        expect.stringMatching(/^roles\.snapshot\.threshold/),
        expect.stringMatching(/^roles\.timestamp: missing/),
        expect.stringMatching(/^roles\.mirror: unknown role/),
      ]),
    );
  });
});
