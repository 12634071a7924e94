// Reading Fulcio extensions from certificates issued by the mock CA with chosen extension encodings.
import { generateKeyPairSync } from 'node:crypto';
import { certificateIdentity } from '@clawback/verify';
import { X509Certificate } from '@sigstore/core';
import { initializeCA } from '@sigstore/mock';
import { describe, expect, it } from 'vitest';

async function issue(extensions: { oid: string; value: string; legacy?: boolean }[]) {
  const ca = await initializeCA(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }));
  const leafKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
  const der = await ca.issueCertificate({
    publicKey: leafKey.export({ type: 'spki', format: 'der' }),
    subjectAltName: 'https://github.com/acme/agents/.github/workflows/release.yml@refs/heads/main',
    extensions,
  });
  return certificateIdentity(X509Certificate.parse(Buffer.from(der)));
}

describe('certificateIdentity', () => {
  it('reads DER UTF8String extensions by name, including the deployment environment', async () => {
    const id = await issue([
      { oid: '1.3.6.1.4.1.57264.1.8', value: 'https://token.actions.githubusercontent.com' },
      { oid: '1.3.6.1.4.1.57264.1.12', value: 'https://github.com/acme/agents' },
      { oid: '1.3.6.1.4.1.57264.1.23', value: 'production' },
    ]);
    expect(id.issuer).toBe('https://token.actions.githubusercontent.com');
    expect(id.extensions).toEqual({
      issuer: 'https://token.actions.githubusercontent.com',
      sourceRepositoryURI: 'https://github.com/acme/agents',
      deploymentEnvironment: 'production',
    });
    expect(id.subjectAlternativeName).toBe(
      'https://github.com/acme/agents/.github/workflows/release.yml@refs/heads/main',
    );
    expect(id.notAfter.getTime() - id.notBefore.getTime()).toBe(10 * 60_000);
  });

  it('treats a v2 extension that is not a DER UTF8String as absent, and falls back to the v1 issuer', async () => {
    const id = await issue([
      { oid: '1.3.6.1.4.1.57264.1.1', value: 'https://issuer.example', legacy: true },
      { oid: '1.3.6.1.4.1.57264.1.12', value: 'https://github.com/acme/agents', legacy: true },
    ]);
    expect(id.extensions).toEqual({});
    expect(id.issuer).toBe('https://issuer.example');
  });
});
