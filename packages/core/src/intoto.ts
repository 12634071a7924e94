import { canonicalJsonBytes } from './canonical.js';
import { type DsseEnvelope, signDsse } from './dsse.js';
import { fromUtf8 } from './encoding.js';
import { ClawbackError, CoreErrors } from './errors.js';
import type { Signer } from './keys.js';

/** in-toto Attestation Framework: Statement layer v1. */
export const INTOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
/** DSSE payloadType for in-toto statements. */
export const INTOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  content?: string;
  downloadLocation?: string;
  mediaType?: string;
  annotations?: Record<string, unknown>;
}

export interface Statement<P = unknown> {
  _type: typeof INTOTO_STATEMENT_V1;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: P;
}

export function makeStatement<P>(
  subject: ResourceDescriptor[],
  predicateType: string,
  predicate: P,
): Statement<P> {
  return { _type: INTOTO_STATEMENT_V1, subject, predicateType, predicate };
}

/** Sign a statement as a DSSE envelope. The payload is canonical JSON so it is stable across tools. */
export function signStatement(statement: Statement, signers: readonly Signer[]): Promise<DsseEnvelope> {
  return signDsse(INTOTO_PAYLOAD_TYPE, canonicalJsonBytes(statement), signers);
}

/**
 * Parse and validate statement bytes (already signature-checked). Reports every
 * problem at once. `predicateType`, when given, must match exactly.
 */
export function parseStatement(payload: Uint8Array, expectedPredicateType?: string): Statement {
  let value: unknown;
  try {
    value = JSON.parse(fromUtf8(payload));
  } catch (cause) {
    throw new ClawbackError(CoreErrors.STATEMENT_INVALID, 'statement payload is not UTF-8 JSON', { cause });
  }
  const s = value as Partial<Statement> | null;
  const problems: string[] = [];
  if (typeof s !== 'object' || s === null || Array.isArray(s)) {
    throw new ClawbackError(CoreErrors.STATEMENT_INVALID, 'statement is not a JSON object');
  }
  if (s._type !== INTOTO_STATEMENT_V1) problems.push(`_type: must be ${INTOTO_STATEMENT_V1}`);
  if (!Array.isArray(s.subject) || s.subject.length === 0) {
    problems.push('subject: must be a non-empty array');
  } else {
    s.subject.forEach((d, i) => {
      if (typeof d !== 'object' || d === null) problems.push(`subject[${i}]: must be an object`);
      else if (typeof d.digest !== 'object' || d.digest === null || Object.keys(d.digest).length === 0) {
        problems.push(`subject[${i}].digest: must name at least one digest`);
      }
    });
  }
  if (typeof s.predicateType !== 'string' || s.predicateType === '')
    problems.push('predicateType: must be a URI');
  else if (expectedPredicateType !== undefined && s.predicateType !== expectedPredicateType) {
    problems.push(`predicateType: is ${s.predicateType}, expected ${expectedPredicateType}`);
  }
  if (typeof s.predicate !== 'object' || s.predicate === null) problems.push('predicate: must be an object');
  if (problems.length > 0) {
    throw new ClawbackError(
      CoreErrors.STATEMENT_INVALID,
      `invalid in-toto statement: ${problems.join('; ')}`,
      {
        details: { problems },
      },
    );
  }
  return s as Statement;
}
