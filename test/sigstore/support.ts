// Shared set-up for the Sigstore tests: mock instances (closed by the caller), statements built with the
// real provenance builder, and signing through a simulated GitHub Actions job.
import { githubProvenancePredicate } from '@clawback/bundle';
import { type ClawbackError, canonicalJsonBytes, makeStatement } from '@clawback/core';
import { type KeylessOptions, type SigstoreBundleJson, signStatementKeyless } from '@clawback/sign';
import {
  type GithubActionsClaims,
  githubActionsContextEnv,
  type MockSigstore,
  startMockSigstore,
} from '@clawback/testing';

export const SLSA_V1 = 'https://slsa.dev/provenance/v1';
const mocks: MockSigstore[] = [];

export async function mockSigstore(
  options: Parameters<typeof startMockSigstore>[0] = {},
): Promise<MockSigstore> {
  const m = await startMockSigstore(options);
  mocks.push(m);
  return m;
}

// The provenance builder under test elsewhere (@clawback/bundle), fed the job environment for these claims.
export function predicateFor(claims: GithubActionsClaims) {
  return githubProvenancePredicate(githubActionsContextEnv(claims));
}

export function statementFor(claims: GithubActionsClaims): Uint8Array {
  return canonicalJsonBytes(
    makeStatement(
      [{ name: 'sensor_parser-1.2.0.clawback', digest: { sha256: 'c0ffee'.padEnd(64, '0') } }],
      SLSA_V1,
      predicateFor(claims),
    ),
  );
}

export function signWith(
  mock: MockSigstore,
  statement: Uint8Array,
  claims: GithubActionsClaims,
  extra: KeylessOptions = {},
) {
  return signStatementKeyless(statement, {
    fulcioURL: mock.fulcioURL,
    rekorURL: mock.rekorURL,
    env: mock.actionsEnv(claims),
    retries: 0,
    ...extra,
  });
}

export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as ClawbackError).code;
  }
  return undefined;
}

export function editPayload(
  bundle: SigstoreBundleJson,
  edit: (statement: Record<string, unknown>) => void,
): SigstoreBundleJson {
  const copy = structuredClone(bundle);
  const envelope = copy.dsseEnvelope;
  if (envelope === undefined) throw new Error('bundle without DSSE envelope');
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<
    string,
    unknown
  >;
  edit(statement);
  envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
  return copy;
}

export async function closeMocks(): Promise<void> {
  await Promise.all(mocks.splice(0).map((m) => m.close()));
}

export async function rejection(p: Promise<unknown>): Promise<ClawbackError> {
  try {
    await p;
  } catch (err) {
    return err as ClawbackError;
  }
  throw new Error('expected a rejection');
}
