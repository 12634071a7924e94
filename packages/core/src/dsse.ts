import { fromBase64, toBase64, utf8 } from './encoding.js';
import { ClawbackError, CoreErrors } from './errors.js';
import { type PublicKey, type Signer, verifyEd25519 } from './keys.js';

/**
 * DSSE (Dead Simple Signing Envelope) v1. Signatures cover the pre-authentication
 * encoding (PAE) of payload type and payload, never the JSON envelope, so the
 * envelope's formatting cannot be used to smuggle data past a signature.
 */
export interface DsseSignature {
  keyid: string;
  sig: string;
}

export interface DsseEnvelope {
  payloadType: string;
  /** base64 of the payload bytes. */
  payload: string;
  signatures: DsseSignature[];
}

/** DSSE spec: PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  const head = utf8(`DSSEv1 ${type.byteLength} ${payloadType} ${payload.byteLength} `);
  const out = new Uint8Array(head.byteLength + payload.byteLength);
  out.set(head, 0);
  out.set(payload, head.byteLength);
  return out;
}

export async function signDsse(
  payloadType: string,
  payload: Uint8Array,
  signers: readonly Signer[],
): Promise<DsseEnvelope> {
  const envelope: DsseEnvelope = { payloadType, payload: toBase64(payload), signatures: [] };
  return addDsseSignatures(envelope, signers);
}

/**
 * Add signatures to an existing envelope (k-of-n signing where each key holder
 * signs in turn). A key that already signed is not added twice.
 */
export async function addDsseSignatures(
  envelope: DsseEnvelope,
  signers: readonly Signer[],
): Promise<DsseEnvelope> {
  const payload = decodePayload(envelope);
  const message = pae(envelope.payloadType, payload);
  const signatures = [...envelope.signatures];
  for (const signer of signers) {
    if (signatures.some((s) => s.keyid === signer.keyid)) continue;
    signatures.push({ keyid: signer.keyid, sig: toBase64(await signer.sign(message)) });
  }
  return { ...envelope, signatures };
}

/** Validate the shape of untrusted JSON as a DSSE envelope. */
export function parseDsseEnvelope(value: unknown, source = 'envelope'): DsseEnvelope {
  const problems: string[] = [];
  const v = value as Partial<Record<keyof DsseEnvelope, unknown>> | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new ClawbackError(CoreErrors.ENVELOPE_INVALID, `${source}: not a JSON object`);
  }
  if (typeof v.payloadType !== 'string' || v.payloadType === '')
    problems.push('payloadType: must be a non-empty string');
  if (typeof v.payload !== 'string' || fromBase64(v.payload) === undefined)
    problems.push('payload: must be base64');
  if (!Array.isArray(v.signatures)) {
    problems.push('signatures: must be an array');
  } else {
    v.signatures.forEach((s: unknown, i: number) => {
      const sig = s as Partial<DsseSignature> | null;
      if (typeof sig !== 'object' || sig === null) {
        problems.push(`signatures[${i}]: must be an object`);
        return;
      }
      if (sig.keyid !== undefined && typeof sig.keyid !== 'string')
        problems.push(`signatures[${i}].keyid: must be a string`);
      if (typeof sig.sig !== 'string' || fromBase64(sig.sig) === undefined)
        problems.push(`signatures[${i}].sig: must be base64`);
    });
  }
  if (problems.length > 0) {
    throw new ClawbackError(
      CoreErrors.ENVELOPE_INVALID,
      `${source} is not a valid DSSE envelope: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
  const sigs = (v.signatures as DsseSignature[]).map((s) => ({ keyid: s.keyid ?? '', sig: s.sig }));
  return { payloadType: v.payloadType as string, payload: v.payload as string, signatures: sigs };
}

export interface DsseVerification {
  payload: Uint8Array;
  payloadType: string;
  /** Distinct trusted keys whose signature verified. */
  validKeyIds: string[];
  threshold: number;
}

export interface VerifyDsseOptions {
  trustedKeys: readonly PublicKey[];
  threshold: number;
  /** When set, the envelope's payloadType must equal it. */
  payloadType?: string;
  /** Names the envelope in errors (e.g. "manifest signature"). */
  source?: string;
}

/**
 * Verify an envelope against trusted keys with a k-of-n threshold. Each trusted
 * key counts at most once, however many signatures claim it; signatures from
 * unknown keys are ignored; a signature with an empty keyid is tried against
 * every trusted key.
 */
export function verifyDsse(envelope: DsseEnvelope, options: VerifyDsseOptions): DsseVerification {
  const source = options.source ?? 'envelope';
  if (!Number.isInteger(options.threshold) || options.threshold < 1) {
    throw new ClawbackError(
      CoreErrors.USAGE,
      `threshold must be a whole number >= 1, got ${options.threshold}`,
    );
  }
  const distinctTrusted = new Map(options.trustedKeys.map((k) => [k.keyid, k]));
  if (distinctTrusted.size < options.threshold) {
    throw new ClawbackError(
      CoreErrors.SIGNATURE_THRESHOLD_NOT_MET,
      `${source}: threshold ${options.threshold} can never be met with ${distinctTrusted.size} distinct trusted key(s)`,
      { hint: 'Pass more --trusted-key files or lower --threshold.' },
    );
  }
  if (options.payloadType !== undefined && envelope.payloadType !== options.payloadType) {
    throw new ClawbackError(
      CoreErrors.PAYLOAD_TYPE_MISMATCH,
      `${source}: payloadType is ${JSON.stringify(envelope.payloadType)}, expected ${JSON.stringify(options.payloadType)}`,
    );
  }
  const payload = decodePayload(envelope);
  const message = pae(envelope.payloadType, payload);
  const valid = new Set<string>();
  for (const s of envelope.signatures) {
    const sig = fromBase64(s.sig);
    if (!sig) continue;
    const candidates = s.keyid ? [distinctTrusted.get(s.keyid)] : [...distinctTrusted.values()];
    for (const key of candidates) {
      if (key && !valid.has(key.keyid) && verifyEd25519(key, message, sig)) valid.add(key.keyid);
    }
  }
  if (valid.size < options.threshold) {
    const code = valid.size === 0 ? CoreErrors.SIGNATURE_INVALID : CoreErrors.SIGNATURE_THRESHOLD_NOT_MET;
    throw new ClawbackError(
      code,
      `${source}: ${valid.size} valid signature(s) from distinct trusted keys, ${options.threshold} required`,
      {
        hint:
          valid.size === 0
            ? 'The file was signed by a key you do not trust, or was modified after signing.'
            : 'Collect signatures from more of the trusted key holders.',
        details: {
          validKeyIds: [...valid],
          threshold: options.threshold,
          signatures: envelope.signatures.length,
        },
      },
    );
  }
  return {
    payload,
    payloadType: envelope.payloadType,
    validKeyIds: [...valid],
    threshold: options.threshold,
  };
}

function decodePayload(envelope: DsseEnvelope): Uint8Array {
  const payload = fromBase64(envelope.payload);
  if (!payload) throw new ClawbackError(CoreErrors.ENVELOPE_INVALID, 'envelope payload is not base64');
  return payload;
}
