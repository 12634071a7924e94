import { ClawbackError, exitCodeFor } from '@clawback/core';
import { describe, expect, it } from 'vitest';
import { parseTrustedRoot } from './trusted-root.js';

function problemsOf(json: unknown): string[] {
  try {
    parseTrustedRoot(json);
  } catch (err) {
    expect(err).toBeInstanceOf(ClawbackError);
    expect((err as ClawbackError).code).toBe('SIGSTORE_TRUSTED_ROOT_INVALID');
    expect(exitCodeFor(err)).toBe(3);
    return (err as ClawbackError).details?.problems as string[];
  }
  throw new Error('expected the trusted root to be refused');
}

describe('parseTrustedRoot', () => {
  it('refuses something that is not an object', () => {
    expect(problemsOf(null)).toEqual(['(root): must be a JSON object']);
    expect(problemsOf([1])).toEqual(['(root): must be a JSON object']);
  });

  it('reports every bad field at once, with its path', () => {
    const problems = problemsOf({
      mediaType: 'application/json',
      certificateAuthorities: [],
      tlogs: [
        {
          baseUrl: 'https://rekor.example',
          publicKey: {
            rawBytes: Buffer.from('not a key').toString('base64'),
            validFor: { start: 'yesterday' },
          },
          logId: {},
        },
      ],
      ctlogs: 'none',
      timestampAuthorities: [{ certChain: { certificates: [{ rawBytes: 'AAAA' }] }, validFor: { end: 12 } }],
    });
    expect(problems).toEqual([
      'mediaType: must start with application/vnd.dev.sigstore.trustedroot',
      'certificateAuthorities: must be a non-empty array',
      'tlogs[0].publicKey.rawBytes: must be a base64 DER public key',
      'tlogs[0].logId.keyId: must be base64',
      'tlogs[0].publicKey.validFor.start: must be an RFC 3339 time',
      'ctlogs: must be an array',
      'timestampAuthorities[0].certChain.certificates[0].rawBytes: must be a base64 DER X.509 certificate',
      'timestampAuthorities[0].validFor.end: must be an RFC 3339 time',
    ]);
  });
});
