import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical.js';
import { addDsseSignatures, pae, parseDsseEnvelope, signDsse, verifyDsse } from './dsse.js';
import { fromBase64, toBase64, utf8 } from './encoding.js';
import { isClawbackError } from './errors.js';
import { INTOTO_PAYLOAD_TYPE, makeStatement, parseStatement, signStatement } from './intoto.js';
import {
  encodePrivateKeyFile,
  encodePublicKeyFile,
  generateKeyPair,
  keyIdOf,
  parsePrivateKey,
  parsePublicKey,
  signerFromKeyPair,
} from './keys.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isClawbackError(err) ? err.code : `non-clawback: ${String(err)}`;
  }
  return undefined;
}

describe('PAE', () => {
  it('matches the DSSE spec test vector', () => {
    // From the DSSE protocol document: PAE("http://example.com/HelloWorld", "hello world")
    const out = Buffer.from(pae('http://example.com/HelloWorld', utf8('hello world'))).toString();
    expect(out).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });
  it('counts bytes, not characters', () => {
    expect(Buffer.from(pae('t', utf8('é'))).toString()).toBe('DSSEv1 1 t 2 é');
  });
});

describe('keys', () => {
  it('key id is SHA-256 of the canonical TUF key JSON', async () => {
    const pair = generateKeyPair();
    const { createHash } = await import('node:crypto');
    const expected = createHash('sha256')
      .update(
        canonicalJson({
          keytype: 'ed25519',
          scheme: 'ed25519',
          keyval: { public: Buffer.from(pair.publicKey.bytes).toString('hex') },
        }),
      )
      .digest('hex');
    expect(keyIdOf(pair.publicKey.bytes)).toBe(expected);
  });

  it('round-trips key files and rejects a mismatched keyid', () => {
    const pair = generateKeyPair();
    const pub = parsePublicKey(encodePublicKeyFile(pair.publicKey), 'a.pub');
    expect(pub.keyid).toBe(pair.publicKey.keyid);
    const priv = parsePrivateKey(encodePrivateKeyFile(pair), 'a.key');
    expect(priv.publicKey.keyid).toBe(pair.publicKey.keyid);
    const tampered = JSON.parse(encodePublicKeyFile(pair.publicKey));
    tampered.keyid = 'ab'.repeat(32);
    expect(code(() => parsePublicKey(JSON.stringify(tampered), 'x.pub'))).toBe('KEY_INVALID');
    expect(code(() => parsePrivateKey(encodePublicKeyFile(pair.publicKey), 'x.pub'))).toBe('KEY_INVALID');
    expect(code(() => parsePublicKey('not a key', 'junk'))).toBe('KEY_INVALID');
  });

  it('reads PEM keys made by OpenSSL-compatible tooling', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const spki = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const pair = parsePrivateKey(pem, 'k.pem');
    expect(parsePublicKey(spki, 'k.pub.pem').keyid).toBe(pair.publicKey.keyid);
    // Signature made by our signer verifies with node's own Ed25519.
    const { verify } = await import('node:crypto');
    const msg = utf8('hello');
    const sig = await signerFromKeyPair(pair).sign(msg);
    expect(verify(null, msg, publicKey, sig)).toBe(true);
  });
});

describe('DSSE', () => {
  const a = generateKeyPair();
  const b = generateKeyPair();
  const c = generateKeyPair();
  const trusted = [a.publicKey, b.publicKey, c.publicKey];

  it('verifies k-of-n and counts each key once', async () => {
    let env = await signDsse('application/x-test', utf8('payload'), [signerFromKeyPair(a)]);
    expect(code(() => verifyDsse(env, { trustedKeys: trusted, threshold: 2 }))).toBe(
      'SIGNATURE_THRESHOLD_NOT_MET',
    );
    // The same key's signature duplicated under a blank keyid still counts once.
    const dup = { ...env, signatures: [...env.signatures, { keyid: '', sig: env.signatures[0]?.sig ?? '' }] };
    expect(code(() => verifyDsse(dup, { trustedKeys: trusted, threshold: 2 }))).toBe(
      'SIGNATURE_THRESHOLD_NOT_MET',
    );
    env = await addDsseSignatures(env, [signerFromKeyPair(b), signerFromKeyPair(a)]);
    expect(env.signatures).toHaveLength(2);
    const ok = verifyDsse(env, { trustedKeys: trusted, threshold: 2 });
    expect(new Set(ok.validKeyIds)).toEqual(new Set([a.publicKey.keyid, b.publicKey.keyid]));
  });

  it('rejects a wrong key, a modified payload and a modified signature', async () => {
    const env = await signDsse('application/x-test', utf8('payload'), [signerFromKeyPair(a)]);
    expect(code(() => verifyDsse(env, { trustedKeys: [b.publicKey], threshold: 1 }))).toBe(
      'SIGNATURE_INVALID',
    );
    const payload = { ...env, payload: toBase64(utf8('payloaD')) };
    expect(code(() => verifyDsse(payload, { trustedKeys: trusted, threshold: 1 }))).toBe('SIGNATURE_INVALID');
    const sigBytes = fromBase64(env.signatures[0]?.sig ?? '') ?? new Uint8Array();
    sigBytes[5] = (sigBytes[5] ?? 0) ^ 1;
    const sig = { ...env, signatures: [{ keyid: a.publicKey.keyid, sig: toBase64(sigBytes) }] };
    expect(code(() => verifyDsse(sig, { trustedKeys: trusted, threshold: 1 }))).toBe('SIGNATURE_INVALID');
    // The payload type is covered by PAE: changing it breaks the signature.
    const type = { ...env, payloadType: 'application/x-other' };
    expect(code(() => verifyDsse(type, { trustedKeys: trusted, threshold: 1 }))).toBe('SIGNATURE_INVALID');
    expect(code(() => verifyDsse(env, { trustedKeys: trusted, threshold: 1, payloadType: 'x' }))).toBe(
      'PAYLOAD_TYPE_MISMATCH',
    );
  });

  it('refuses thresholds that can never be met', async () => {
    const env = await signDsse('t', utf8('p'), [signerFromKeyPair(a)]);
    expect(code(() => verifyDsse(env, { trustedKeys: [a.publicKey, a.publicKey], threshold: 2 }))).toBe(
      'SIGNATURE_THRESHOLD_NOT_MET',
    );
  });

  it('reports every malformed field of an envelope at once', () => {
    try {
      parseDsseEnvelope({ payloadType: '', payload: '%%%', signatures: [{ sig: 3 }] });
      expect.unreachable();
    } catch (err) {
      expect(isClawbackError(err, 'ENVELOPE_INVALID')).toBe(true);
      expect((err as { details: { problems: string[] } }).details.problems).toHaveLength(3);
    }
  });
});

describe('in-toto statements', () => {
  it('signs and parses, and enforces predicateType', async () => {
    const pair = generateKeyPair();
    const st = makeStatement(
      [{ name: 'x.tar', digest: { sha256: 'ab'.repeat(32) } }],
      'https://example.com/p/v1',
      { a: 1 },
    );
    const env = await signStatement(st, [signerFromKeyPair(pair)]);
    expect(env.payloadType).toBe(INTOTO_PAYLOAD_TYPE);
    const v = verifyDsse(env, { trustedKeys: [pair.publicKey], threshold: 1 });
    expect(parseStatement(v.payload, 'https://example.com/p/v1').predicate).toEqual({ a: 1 });
    expect(code(() => parseStatement(v.payload, 'https://slsa.dev/provenance/v1'))).toBe('STATEMENT_INVALID');
    expect(code(() => parseStatement(utf8('{"_type":"x","subject":[]}')))).toBe('STATEMENT_INVALID');
  });
});

describe('canonical JSON', () => {
  it('sorts keys and refuses values JSON cannot carry', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'] })).toBe('{"a":[true,null,"x"],"b":1}');
    expect(code(() => canonicalJson({ a: undefined }))).toBe('CANONICAL_JSON_INVALID');
    expect(code(() => canonicalJson({ a: Number.NaN }))).toBe('CANONICAL_JSON_INVALID');
    expect(code(() => canonicalJson(new Date()))).toBe('CANONICAL_JSON_INVALID');
  });
});
