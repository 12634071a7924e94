// The recording `clawback demo` replays: generated (never hand-edited), shaped like GitHub's
// responses, and deciding each demo change as the story says when the real approval check runs
// over it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { approveCheck, createGitHubClient, replayGitHubFetch } from '@clawback/approvals';
import { generateKeyPair, signerFromKeyPair } from '@clawback/core';
import { githubJsonSchemaDoc, githubOperationFor } from '@clawback/testing';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { buildDemoRecording, type DemoRecording } from './demo-recording.js';

const FILE = fileURLToPath(new URL('../../examples/demo/github-recording.json', import.meta.url));
const built = buildDemoRecording();

describe('examples/demo/github-recording.json', () => {
  it('is exactly what demo-recording.ts generates (CLAWBACK_WRITE_SCENARIOS=1 rewrites it)', () => {
    const text = `${JSON.stringify(built, null, 2)}\n`;
    if (process.env.CLAWBACK_WRITE_SCENARIOS === '1') writeFileSync(FILE, text);
    expect(JSON.parse(readFileSync(FILE, 'utf8')) as DemoRecording).toEqual(JSON.parse(text));
  });

  it('answers every request with a response valid against GitHub’s OpenAPI schema', () => {
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const doc = githubJsonSchemaDoc();
    ajv.addSchema(doc);
    for (const x of built.exchanges) {
      const op = githubOperationFor(x.method, x.path);
      expect(op, `${x.method} ${x.path}`).toBeDefined();
      const pointer = `${doc.$id}#/responses/${(op as string).replaceAll('~', '~0').replaceAll('/', '~1')}/statuses/${x.status}`;
      const validate = ajv.getSchema(pointer) ?? ajv.compile({ $ref: pointer });
      expect(validate(x.response), `${x.method} ${x.path}: ${ajv.errorsText(validate.errors)}`).toBe(true);
    }
  });

  it.each(built.changes.map((c) => [c.version, c] as const))('decides %s as the story says', async (_, c) => {
    const replay = replayGitHubFetch(built.exchanges);
    const [owner, repo] = built.repo.split('/') as [string, string];
    const result = await approveCheck({
      client: createGitHubClient({ token: 'ghs_demo', fetch: replay.fetch, retries: 0 }),
      owner,
      repo,
      commit: c.commit,
      now: new Date('2026-03-02T14:00:00Z'),
      apiBase: 'https://api.github.com',
      signer: signerFromKeyPair(generateKeyPair()),
    });
    expect(replay.unmatched).toEqual([]);
    expect(result.decision.status).toBe(c.expect);
    if (c.expect === 'rejected') expect(result.decision.failedRules).toEqual(['direct-push']);
    else expect(result.statement.predicate.pullRequest?.number).toBe(c.pullRequest);
  });
});
