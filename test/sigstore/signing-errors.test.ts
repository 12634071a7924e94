// Keyless signing failures: missing OIDC permission, bad input, failing Sigstore services.
import { signStatementKeyless } from '@clawback/sign';
import { type GithubActionsClaims, githubActionsClaims, type MockSigstore } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeMocks, mockSigstore, rejection, signWith, statementFor } from './support.js';

let mock: MockSigstore;
let claims: GithubActionsClaims;
let statement: Uint8Array;

beforeAll(async () => {
  mock = await mockSigstore();
  claims = githubActionsClaims();
  statement = statementFor(claims);
});

afterAll(closeMocks);

describe('signing failures', () => {
  const failingFetch = (() => {
    throw new Error('the network must not be used');
  }) as unknown as typeof fetch;

  it('says to add `permissions: id-token: write` when the job has no OIDC token', async () => {
    const err = await rejection(
      signStatementKeyless(statement, {
        env: { GITHUB_ACTIONS: 'true' },
        fetch: failingFetch,
        fulcioURL: mock.url,
      }),
    );
    expect(err.code).toBe('SIGSTORE_OIDC_UNAVAILABLE');
    expect(err.hint).toContain('id-token: write');
    expect(err.kind).toBe('environment');
    const outside = await rejection(signStatementKeyless(statement, { env: {}, fetch: failingFetch }));
    expect(outside.code).toBe('SIGSTORE_OIDC_UNAVAILABLE');
  });

  it('refuses to sign bytes that are not an in-toto statement', async () => {
    const err = await rejection(signWith(mock, new TextEncoder().encode('{"hello":1}'), claims));
    expect(err.code).toBe('STATEMENT_INVALID');
  });

  it('maps OIDC, Fulcio and Rekor failures to their codes without leaking the token', async () => {
    const failing = await mockSigstore();
    const env = failing.actionsEnv(claims);
    const token = new URL(env.ACTIONS_ID_TOKEN_REQUEST_URL ?? '').searchParams.get('claims') ?? '';
    const cases: [Parameters<MockSigstore['fail']>[0], string][] = [
      ['oidc', 'SIGSTORE_OIDC_TOKEN_FAILED'],
      ['fulcio', 'SIGSTORE_FULCIO_FAILED'],
      ['rekor', 'SIGSTORE_REKOR_FAILED'],
    ];
    for (const [service, code] of cases) {
      failing.fail(service, 400);
      const err = await rejection(signWith(failing, statement, claims));
      failing.fail(service, undefined);
      expect(err.code).toBe(code);
      const shown = JSON.stringify(err.toJSON()) + String(err.message);
      expect(shown).not.toContain(Buffer.from(token, 'base64url').toString('utf8'));
      expect(shown).not.toContain('mock-actions-request-token');
    }
  });
});
