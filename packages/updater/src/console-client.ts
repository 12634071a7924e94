/**
 * The device side of docs/protocol.md, over `got` (house style 6: HTTP in one seam).
 * Retries use got's own backoff; POSTs are retried too because every body is idempotent
 * (a report by its reportId, enrollment by device id and key).
 */
import {
  ClawbackError,
  canonicalJson,
  type DsseEnvelope,
  isoSeconds,
  pae,
  publicKeyJson,
  type Signer,
  sha256Hex,
  toBase64,
  utf8,
} from '@clawback/core';
import got, { type Got, type Response } from 'got';
import { UpdaterErrors } from './errors.js';
import { REQUEST_PAYLOAD_TYPE } from './report.js';

export interface ConsoleClientOptions {
  baseUrl: string;
  deviceId: string;
  signer: Signer;
  retries?: number;
  timeoutMs?: number;
  now?: () => Date;
}

export interface DesiredTarget {
  agent: string;
  version: string;
  targetPath: string;
  rolloutId: string | null;
  stage: number | null;
}

export type DesiredResult =
  | { changed: false; etag: string | null }
  | { changed: true; etag: string | null; desired: DesiredTarget | null; pollAfterSecs: number | null };

export interface EnrollRequest {
  hardwareId: string;
  agent: string;
  channel: string;
  updaterVersion: string;
  tags: string[];
  enrollmentToken?: string;
}

/** `Authorization: Clawback-Device …` for requests without a DSSE body (protocol "Device authentication"). */
export async function deviceAuthorization(
  signer: Signer,
  deviceId: string,
  method: string,
  path: string,
  body: string | null,
  now: Date,
): Promise<string> {
  const ts = isoSeconds(now);
  const signed = canonicalJson({ method, path, ts, bodySha256: body === null ? '' : sha256Hex(body) });
  const sig = toBase64(await signer.sign(pae(REQUEST_PAYLOAD_TYPE, utf8(signed))));
  return `Clawback-Device id="${deviceId}", keyid="${signer.keyid}", ts="${ts}", sig="${sig}"`;
}

export class ConsoleClient {
  private readonly http: Got;
  constructor(private readonly o: ConsoleClientOptions) {
    this.http = got.extend({
      prefixUrl: o.baseUrl,
      throwHttpErrors: false,
      timeout: { request: o.timeoutMs ?? 15_000 },
      retry: {
        limit: o.retries ?? 3,
        methods: ['GET', 'POST'],
        statusCodes: [408, 429, 500, 502, 503, 504],
        backoffLimit: 10_000,
      },
      headers: { 'user-agent': 'clawback-updater' },
    });
  }

  private now(): Date {
    return this.o.now?.() ?? new Date();
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    headers: Record<string, string> = {},
  ): Promise<Response<string>> {
    try {
      return await this.http(path.replace(/^\//, ''), {
        method,
        ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json', ...headers } }),
        ...(body === undefined ? { headers } : {}),
      });
    } catch (cause) {
      throw new ClawbackError(
        UpdaterErrors.CONSOLE_UNREACHABLE,
        `console ${this.o.baseUrl} unreachable: ${(cause as Error).message}`,
        {
          cause,
          hint: 'Queued reports stay on disk; they are sent by the next `clawback-updater reports flush`.',
        },
      );
    }
  }

  private refused(res: Response<string>, what: string): ClawbackError {
    let code = `HTTP ${res.statusCode}`;
    let message = '';
    try {
      const body = JSON.parse(res.body) as { error?: { code?: string; message?: string } };
      code = body.error?.code ?? code;
      message = body.error?.message ?? '';
    } catch {
      // not JSON: keep the status
    }
    const kind = res.statusCode >= 500 ? UpdaterErrors.CONSOLE_UNREACHABLE : UpdaterErrors.CONSOLE_REFUSED;
    return new ClawbackError(kind, `console refused ${what}: ${code}${message ? ` ${message}` : ''}`, {
      details: { status: res.statusCode, consoleCode: code },
      hint:
        res.statusCode === 404
          ? 'Enroll the device first: `clawback-updater enroll --token …`.'
          : 'See the console logs.',
    });
  }

  async enroll(req: EnrollRequest): Promise<{ deviceId: string; status: string }> {
    const body = JSON.stringify({
      deviceId: this.o.deviceId,
      publicKey: publicKeyJson(this.o.signer.publicKey.bytes),
      ...req,
    });
    const res = await this.send('POST', '/api/v1/devices/enroll', body);
    if (res.statusCode !== 200 && res.statusCode !== 201) throw this.refused(res, 'enrollment');
    return JSON.parse(res.body) as { deviceId: string; status: string };
  }

  async desired(etag: string | null): Promise<DesiredResult> {
    const path = `/api/v1/devices/${encodeURIComponent(this.o.deviceId)}/desired`;
    const authorization = await deviceAuthorization(
      this.o.signer,
      this.o.deviceId,
      'GET',
      path,
      null,
      this.now(),
    );
    const res = await this.send('GET', path, undefined, {
      authorization,
      ...(etag ? { 'if-none-match': etag } : {}),
    });
    const newEtag = typeof res.headers.etag === 'string' ? res.headers.etag : etag;
    if (res.statusCode === 304) return { changed: false, etag: newEtag };
    if (res.statusCode !== 200) throw this.refused(res, 'check-in');
    const body = JSON.parse(res.body) as { desired: DesiredTarget | null; pollAfterSecs?: number };
    return {
      changed: true,
      etag: newEtag,
      desired: body.desired ?? null,
      pollAfterSecs: body.pollAfterSecs ?? null,
    };
  }

  /** POST one signed report. Resolves to whether the console already had it. */
  async postReport(envelope: DsseEnvelope): Promise<{ duplicate: boolean }> {
    const res = await this.send('POST', '/api/v1/reports', JSON.stringify(envelope));
    if (res.statusCode === 201 || res.statusCode === 200) {
      let duplicate = false;
      try {
        duplicate = (JSON.parse(res.body) as { duplicate?: boolean }).duplicate === true;
      } catch {
        // an accepted report with an unreadable body is still accepted
      }
      return { duplicate };
    }
    throw this.refused(res, 'report');
  }

  async postHeartbeat(envelope: DsseEnvelope): Promise<void> {
    const path = `/api/v1/devices/${encodeURIComponent(this.o.deviceId)}/heartbeat`;
    const res = await this.send('POST', path, JSON.stringify(envelope));
    if (res.statusCode >= 300) throw this.refused(res, 'heartbeat');
  }

  /** POST a key rotation statement signed by the current key (protocol "Device key rotation"). */
  async rotateKey(envelope: DsseEnvelope): Promise<void> {
    const path = `/api/v1/devices/${encodeURIComponent(this.o.deviceId)}/rotate-key`;
    const res = await this.send('POST', path, JSON.stringify(envelope));
    if (res.statusCode >= 300) throw this.refused(res, 'key rotation');
  }

  /** Whether the console accepts a request signed by `signer` (a signed check-in). */
  async accepts(signer: Signer): Promise<boolean> {
    const probe = new ConsoleClient({ ...this.o, signer, retries: 0 });
    try {
      await probe.desired(null);
      return true;
    } catch (err) {
      if (err instanceof ClawbackError && err.code === UpdaterErrors.CONSOLE_REFUSED) return false;
      throw err;
    }
  }
}
