import { createHash, type Hash } from 'node:crypto';
import { toHex } from './encoding.js';

/** A SHA-256 hex digest, lower case, 64 characters. */
export type Sha256Hex = string;

export const SHA256_HEX = /^[0-9a-f]{64}$/;

export function sha256(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}

export function sha256Hex(data: Uint8Array | string): Sha256Hex {
  return toHex(sha256(data));
}

export function isSha256Hex(value: unknown): value is Sha256Hex {
  return typeof value === 'string' && SHA256_HEX.test(value);
}

/** Incremental SHA-256 for streaming: feed chunks, then `hex()` once. */
export interface StreamingDigest {
  update(chunk: Uint8Array): void;
  hex(): Sha256Hex;
  /** Bytes fed so far. */
  readonly size: number;
}

export function createSha256(): StreamingDigest {
  const hash: Hash = createHash('sha256');
  let size = 0;
  return {
    update(chunk) {
      hash.update(chunk);
      size += chunk.byteLength;
    },
    hex() {
      return hash.digest('hex');
    },
    get size() {
      return size;
    },
  };
}

/** Hash an async stream of chunks (a file stream, an HTTP body) without holding it in memory. */
export async function sha256OfStream(
  source: AsyncIterable<Uint8Array>,
): Promise<{ sha256: Sha256Hex; size: number }> {
  const digest = createSha256();
  for await (const chunk of source) digest.update(chunk);
  return { sha256: digest.hex(), size: digest.size };
}
