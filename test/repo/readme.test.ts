import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { program } from '@clawback/cli';
import { consoleProgram } from '@clawback/console';
import type { Program } from '@clawback/core';
import { updaterProgram } from '@clawback/updater';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');

const text = readme.replace(/\\\|/g, '|');

/**
 * A command is documented when the README names it in backticks, as `BIN NAME …`, as a
 * second command in the same cell (`… ` / `NAME …`), or among alternatives (`BIN rollout halt|resume|abort`).
 */
function documented(bin: string, name: string): boolean {
  if (text.includes(`\`${bin} ${name}`)) return true;
  if (text.includes(`/ \`${name}`)) return true;
  const words = name.split(' ');
  const last = words.pop() ?? '';
  const prefix = words.join(' ');
  const re = new RegExp(`\`${bin} ${prefix}${prefix ? ' ' : ''}([a-z-]+(?:\\|[a-z-]+)+)`, 'g');
  return [...text.matchAll(re)].some((m) => m[1]?.split('|').includes(last));
}

function undocumented(bin: string, p: Program): string[] {
  return p.commands.filter((c) => !c.passthrough && !documented(bin, c.name)).map((c) => c.name);
}

describe('README', () => {
  it('opens with the two commands', () => {
    const quick = readme.slice(0, readme.indexOf('## Commands'));
    expect(quick).toContain('npm ci && npm start');
    expect(quick).toContain('npm test');
  });

  it.each([
    ['clawback', program],
    ['clawback-updater', updaterProgram()],
    ['clawback-console', consoleProgram],
  ] as const)('documents every %s command in a command table', (bin, p) => {
    expect(undocumented(bin, p)).toEqual([]);
  });
});
