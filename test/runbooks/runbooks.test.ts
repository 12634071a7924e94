// Every runbooks/*.md (except README.md) is executed; a runbook passes when its script exits 0.
// Runbooks assert their own outcomes in shell (a step that must fail is written as
// `if …; then exit 1; fi`); the checks below add what a reader of the result files can confirm.
import { readdirSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT, type RunResult, runRunbook } from './runner.js';

const RUNBOOKS = readdirSync(join(PROJECT_ROOT, 'runbooks'))
  .filter((f) => f.endsWith('.md') && f !== 'README.md')
  .sort();

const rootVersion = async (dir: string, file: string) =>
  (JSON.parse(await readFile(join(dir, file), 'utf8')) as { signed: { version: number } }).signed.version;

/** Extra outcome checks for specific runbooks, on the files they leave behind. */
const OUTCOMES: Record<string, (r: RunResult) => Promise<void>> = {
  'key-rotation.md': async (r) => {
    // The device pinned to root v1 followed every rotation in the runbook.
    expect(await rootVersion(r.dir, 'device/tuf/root.json')).toBe(
      await rootVersion(r.dir, 'tuf-repo/metadata/root.json'),
    );
    expect(await rootVersion(r.dir, 'device/tuf/root.json')).toBeGreaterThanOrEqual(3);
    expect(r.stderr).toMatch(/clawback-tuf-conformance: TUF_METADATA_INVALID/);
  },
  'revoke-release.md': async (r) => {
    expect(r.stderr).toMatch(/TUF_TARGET_UNKNOWN/);
  },
  'expired-metadata.md': async (r) => {
    expect(r.stderr).toMatch(/TUF_METADATA_EXPIRED/);
    expect(r.stderr).toMatch(/TUF_KEY_MISSING/);
  },
};

describe('runbooks are executable and do what they say', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finds the runbooks', () => {
    expect(RUNBOOKS).toEqual(
      expect.arrayContaining(['key-rotation.md', 'revoke-release.md', 'expired-metadata.md']),
    );
  });

  for (const file of RUNBOOKS) {
    it(`runbooks/${file}`, { timeout: 900_000 }, async () => {
      const r = await runRunbook(join(PROJECT_ROOT, 'runbooks', file));
      dirs.push(r.dir);
      if (r.code !== 0) {
        const tail = (s: string) => s.split('\n').slice(-40).join('\n');
        throw new Error(
          `runbooks/${file} failed with exit ${r.code}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`,
        );
      }
      await OUTCOMES[file]?.(r);
    });
  }
});
