/**
 * The TUF fetcher over `got` (house style 6: one HTTP seam). Retries with exponential
 * backoff are got's own (`retry`), timeouts are got's per-phase `timeout`, and the length
 * cap from signed metadata is enforced on the Content-Length header and on every chunk, so
 * an endless-data attack stops at `maxLength` bytes (TUF 5.2 / 5.7.3).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import got, { type Got, HTTPError, type Request } from 'got';
import type { Fetcher } from 'tuf-js';
import { DownloadHTTPError, DownloadLengthMismatchError } from './tuf-js-errors.js';

export interface GotFetcherOptions {
  /** Attempts after the first (default 3). */
  retries?: number;
  /** Longest backoff between attempts, ms (default 10 000). */
  backoffLimitMs?: number;
  /** Connect timeout, ms (default 10 000). */
  connectTimeoutMs?: number;
  /** Time to the response headers, ms (default 30 000). */
  responseTimeoutMs?: number;
  /** Longest silence on the socket mid-download, ms (default 30 000). */
  idleTimeoutMs?: number;
  userAgent?: string;
  /** Directory for partial downloads (default the OS temp dir). */
  tmpDir?: string;
  /** A preconfigured got instance (tests, proxies). */
  client?: Got;
}

export class GotFetcher implements Fetcher {
  private readonly client: Got;
  private readonly tmpDir: string;

  constructor(options: GotFetcherOptions = {}) {
    this.tmpDir = options.tmpDir ?? tmpdir();
    this.client = (options.client ?? got).extend({
      retry: {
        limit: options.retries ?? 3,
        backoffLimit: options.backoffLimitMs ?? 10_000,
        methods: ['GET'],
      },
      timeout: {
        connect: options.connectTimeoutMs ?? 10_000,
        response: options.responseTimeoutMs ?? 30_000,
        socket: options.idleTimeoutMs ?? 30_000,
      },
      headers: { 'user-agent': options.userAgent ?? 'clawback-updater' },
      decompress: false,
      followRedirect: true,
    });
  }

  /**
   * Metadata (at most `maxLength` bytes, from signed lengths or the client's caps) is collected
   * in memory: no temporary file, so a refresh costs no file system round trips per role.
   */
  async downloadBytes(url: string, maxLength: number): Promise<Buffer> {
    return this.stream(url, maxLength, () => new MemorySink());
  }

  async downloadFile<T>(url: string, maxLength: number, handler: (file: string) => Promise<T>): Promise<T> {
    const dir = await mkdtemp(join(this.tmpDir, 'clawback-fetch-'));
    let attempt = 0;
    try {
      // A retry starts over from the first byte, into a fresh file, so no late write of an
      // abandoned attempt can land in it.
      const file = await this.stream(url, maxLength, () => new FileSink(join(dir, `attempt-${++attempt}`)));
      return await handler(file);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Stream `url` into a fresh sink per attempt; resolves with the last attempt's result. */
  private stream<T>(url: string, maxLength: number, sinkFor: () => Sink<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        reject(toTufError(err, url));
      };
      const attach = (stream: Request, previous?: Sink<T>) => {
        previous?.destroy();
        const out = sinkFor();
        let received = 0;
        out.onError(fail);
        stream.once('retry', (_count: number, _error: unknown, createRetryStream: () => Request) => {
          stream.removeAllListeners('data');
          attach(createRetryStream(), out);
        });
        stream.on('response', (res: { headers: Record<string, string | string[] | undefined> }) => {
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > maxLength) {
            stream.destroy();
            out.destroy();
            fail(
              new DownloadLengthMismatchError(`${url}: ${declared} bytes exceeds the ${maxLength} allowed`),
            );
          }
        });
        stream.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received > maxLength) {
            stream.destroy();
            out.destroy();
            fail(new DownloadLengthMismatchError(`${url}: more than the ${maxLength} bytes allowed`));
            return;
          }
          if (!out.write(chunk)) {
            stream.pause();
            out.onDrain(() => stream.resume());
          }
        });
        stream.on('end', () => {
          out.end((result) => {
            if (!settled) {
              settled = true;
              resolve(result);
            }
          });
        });
        stream.on('error', (err: unknown) => {
          out.destroy();
          fail(err);
        });
      };
      attach(this.client.stream(url));
    });
  }
}

/** Where one attempt's bytes go. */
interface Sink<T> {
  /** False when the caller should wait for 'drain' (`onDrain`). */
  write(chunk: Buffer): boolean;
  onDrain(fn: () => void): void;
  onError(fn: (err: unknown) => void): void;
  end(done: (result: T) => void): void;
  destroy(): void;
}

class MemorySink implements Sink<Buffer> {
  private readonly chunks: Buffer[] = [];
  write(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    return true;
  }
  onDrain(): void {}
  onError(): void {}
  end(done: (result: Buffer) => void): void {
    done(Buffer.concat(this.chunks));
  }
  destroy(): void {
    this.chunks.length = 0;
  }
}

class FileSink implements Sink<string> {
  private readonly out: WriteStream;
  constructor(private readonly path: string) {
    this.out = createWriteStream(path);
  }
  write(chunk: Buffer): boolean {
    return this.out.write(chunk);
  }
  onDrain(fn: () => void): void {
    this.out.once('drain', fn);
  }
  onError(fn: (err: unknown) => void): void {
    this.out.on('error', fn);
  }
  end(done: (result: string) => void): void {
    this.out.end(() => done(this.path));
  }
  destroy(): void {
    this.out.destroy();
  }
}

/** Map got's errors onto the tuf-js classes the Updater branches on. */
function toTufError(err: unknown, url: string): Error {
  if (err instanceof DownloadLengthMismatchError) return err;
  if (err instanceof HTTPError)
    return new DownloadHTTPError(`GET ${url}: HTTP ${err.response.statusCode}`, err.response.statusCode);
  const e = err as Error;
  return new Error(`GET ${url} failed: ${e.message}`, { cause: err });
}
