import { existsSync } from 'node:fs';
import { runProgram } from '@clawback/core';
import { describe, expect, it } from 'vitest';
import { program } from '../program.js';

describe('clawback demo', () => {
  it('builds, signs, verifies and shows tampered and untrusted copies rejected, then cleans up', async () => {
    let out = '';
    let err = '';
    const code = await runProgram(program, ['demo', '--json'], {
      stdout: { write: (s: string) => (out += s) },
      stderr: { write: (s: string) => (err += s) },
      env: { PATH: process.env.PATH ?? '' },
      cwd: process.cwd(),
    });
    expect(code, err).toBe(0);
    const result = JSON.parse(out) as {
      workspace: string;
      kept: boolean;
      steps: { step: string; outcome: string }[];
    };
    const outcomes = Object.fromEntries(result.steps.map((s) => [s.step, s.outcome]));
    expect(outcomes['bundle built twice']).toMatch(/byte-identical/);
    expect(outcomes['one byte of the payload flipped']).toMatch(/rejected \(.*BUNDLE_DIGEST_MISMATCH\)/);
    expect(outcomes['signed by an untrusted key']).toMatch(/rejected \(.*SIGNATURE_INVALID\)/);
    expect(result.kept).toBe(false);
    expect(existsSync(result.workspace)).toBe(false);
  });
});
