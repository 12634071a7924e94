import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from './manifest-types.js';
import { manifestValidatorSource } from './manifest-validator-codegen.js';
import { compileManifestSchema, formatAjvErrors, manifestSchemaProblems } from './schema.js';
import { sampleAgentSpec, writeSampleAgentDir } from './test-fixtures.js';
import { buildBundle } from './writer.js';

let tmp: string;
let manifest: Manifest;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'clawback-validator-'));
  const dir = await writeSampleAgentDir(join(tmp, 'src'));
  manifest = (await buildBundle({ dir, spec: sampleAgentSpec(), out: join(tmp, 'a.bundle') })).manifest;
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('the generated manifest validator', () => {
  it('is up to date with the schema, the ajv options and the ajv version', async () => {
    const file = await readFile(new URL('./manifest-validator.generated.ts', import.meta.url), 'utf8');
    const recorded = /raw-sha256: ([0-9a-f]{64})/.exec(file)?.[1];
    // If this fails: build, then run `node packages/bundle/scripts/generate-manifest-validator.mjs`.
    expect(recorded).toBe(manifestValidatorSource().rawSha256);
  });

  it('reports exactly what the run-time compiled schema reports', () => {
    const compiled = compileManifestSchema();
    const viaCompiled = (v: unknown) => (compiled(v) ? [] : formatAjvErrors(compiled.errors));
    const m = manifest as unknown as Record<string, unknown>;
    const files = manifest.files as unknown as Record<string, unknown>[];
    const cases: unknown[] = [
      m,
      { ...m, version: 'one' },
      { ...m, name: 'Not-DNS' },
      { ...m, extra: 1 },
      { ...m, schema_version: 2 },
      { ...m, name: undefined },
      { ...m, files: [{ ...files[0], sha256: 'xyz' }, ...files.slice(1)] },
      { ...m, files: [{ ...files[0], path: '' }] },
      { ...m, compatibility: { hardware: [], min_updater_version: '1.0' } },
      { ...m, agent_profile: { ...(m.agent_profile as object), resource_limits: { max_cpu_percent: 500 } } },
      { ...m, health: { probation_secs: -1, checks: [{ type: 'exec' }, { type: 'http', url: 'ftp://x' }] } },
      null,
      [],
      'manifest',
    ];
    for (const c of cases) {
      const generated = manifestSchemaProblems(c);
      expect(generated).toEqual(viaCompiled(c));
    }
    expect(manifestSchemaProblems(m)).toEqual([]);
    expect(manifestSchemaProblems({ ...m, version: 'one' })).toContain(
      'version: must be a semantic version like 1.2.3',
    );
  });
});
