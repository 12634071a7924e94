import canonicalizeModule from 'canonicalize';
import { utf8 } from './encoding.js';
import { ClawbackError, CoreErrors } from './errors.js';

// canonicalize 2.x is CommonJS whose typings claim an ESM default export; take whichever shape arrives.
type Canonicalize = (input: unknown) => string | undefined;
const canonicalize: Canonicalize =
  (canonicalizeModule as unknown as { default?: Canonicalize }).default ??
  (canonicalizeModule as unknown as Canonicalize);

/**
 * RFC 8785 (JSON Canonicalization Scheme) text of a JSON value. Used wherever a
 * hash or signature covers structured data (key ids, audit entries, records).
 * Values JSON cannot represent (undefined, NaN, functions) are refused rather
 * than silently dropped, so two parties can never hash different texts.
 */
export function canonicalJson(value: unknown): string {
  assertJsonValue(value, '$');
  const text = canonicalize(value);
  if (text === undefined) {
    throw new ClawbackError(CoreErrors.CANONICAL_JSON_INVALID, 'value has no JSON representation');
  }
  return text;
}

export function canonicalJsonBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}

function assertJsonValue(value: unknown, path: string): void {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return;
    case 'number':
      if (!Number.isFinite(value)) {
        throw new ClawbackError(
          CoreErrors.CANONICAL_JSON_INVALID,
          `${path}: number ${value} is not valid JSON`,
        );
      }
      return;
    case 'object': {
      if (value === null) return;
      if (Array.isArray(value)) {
        value.forEach((v, i) => {
          assertJsonValue(v, `${path}[${i}]`);
        });
        return;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        throw new ClawbackError(
          CoreErrors.CANONICAL_JSON_INVALID,
          `${path}: only plain objects can be canonicalized`,
        );
      }
      for (const [k, v] of Object.entries(value)) {
        if (v === undefined) {
          throw new ClawbackError(
            CoreErrors.CANONICAL_JSON_INVALID,
            `${path}.${k}: undefined is not valid JSON (omit the property instead)`,
          );
        }
        assertJsonValue(v, `${path}.${k}`);
      }
      return;
    }
    default:
      throw new ClawbackError(
        CoreErrors.CANONICAL_JSON_INVALID,
        `${path}: ${typeof value} is not valid JSON`,
      );
  }
}

/** Parse JSON text, turning a syntax error into a coded error that names the source. */
export function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ClawbackError(
      CoreErrors.JSON_INVALID,
      `${source} is not valid JSON: ${(cause as Error).message}`,
      {
        cause,
        hint: `Check that ${source} is the file you meant and that it was not truncated.`,
      },
    );
  }
}
