/**
 * The HTTP layer on node:http: a small route table, bounded JSON bodies, and one place that
 * turns errors into `{"error": {code, message, hint}}` with a 4xx/5xx status. Handlers throw
 * ClawbackErrors; anything else is a bug and answers 500 without internals.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ClawbackError, CoreErrors, isClawbackError, parseJson, redact } from '@clawback/core';
import { ConsoleErrors, httpStatusFor } from '../errors.js';
import { MAX_BODY_BYTES } from '../protocol.js';

export interface Request {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Convenience: serialised as JSON. */
  json?: unknown;
}

export type Handler = (req: Request) => Promise<Reply>;

export interface Route {
  method: string;
  /** e.g. /api/v1/devices/:id/desired */
  pattern: string;
  name: string;
  handler: Handler;
}

interface CompiledRoute extends Route {
  regex: RegExp;
  keys: string[];
}

export class Router {
  private readonly routes: CompiledRoute[] = [];

  add(route: Route): void {
    const keys: string[] = [];
    const source = route.pattern.replace(/:([a-zA-Z]+)/g, (_, k: string) => {
      keys.push(k);
      return '([^/]+)';
    });
    this.routes.push({ ...route, regex: new RegExp(`^${source}$`), keys });
  }

  match(
    method: string,
    path: string,
  ): { route: CompiledRoute; params: Record<string, string> } | 'wrong-method' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.regex.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { route: r, params };
    }
    return pathMatched ? 'wrong-method' : undefined;
  }
}

/** Read a JSON body of at most MAX_BODY_BYTES (protocol: 256 KiB). */
export async function readJson(req: Request, limit = MAX_BODY_BYTES): Promise<unknown> {
  return (await readJsonWithBytes(req, limit)).value;
}

/**
 * Read a JSON body and keep its exact bytes, for requests whose signature covers the body's
 * digest (docs/protocol.md "Device authentication").
 */
export async function readJsonWithBytes(
  req: Request,
  limit = MAX_BODY_BYTES,
): Promise<{ value: unknown; bytes: Buffer }> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/(json|[a-z0-9.+-]+\+json)\s*(;|$)/i.test(type)) {
    throw new ClawbackError(
      ConsoleErrors.CONSOLE_UNSUPPORTED_MEDIA_TYPE,
      `Content-Type must be application/json, got ${JSON.stringify(type)}`,
      {
        hint: 'Send the body as JSON with Content-Type: application/json.',
      },
    );
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  try {
    return { value: parseJson(bytes.toString('utf8'), 'request body'), bytes };
  } catch (err) {
    throw new ClawbackError(CoreErrors.JSON_INVALID, (err as Error).message, {
      hint: 'Send one well-formed JSON document; nothing was stored.',
    });
  }
}

function tooLarge(limit: number): ClawbackError {
  return new ClawbackError(
    ConsoleErrors.CONSOLE_BODY_TOO_LARGE,
    `request body is larger than ${limit} bytes`,
    {
      hint: 'Send a smaller body; reports and requests are at most 256 KiB.',
    },
  );
}

export function errorReply(err: unknown): Reply {
  const status = httpStatusFor(err);
  if (isClawbackError(err) && status < 500) {
    const details = err.details?.problems ? { problems: err.details.problems } : undefined;
    return {
      status,
      json: {
        error: {
          code: err.code,
          message: redact(err.message),
          hint: redact(err.hint ?? ''),
          ...(details ? { details } : {}),
        },
      },
    };
  }
  if (isClawbackError(err) && err.kind === 'environment') {
    return {
      status: 503,
      json: { error: { code: err.code, message: redact(err.message), hint: err.hint ?? 'Retry later.' } },
    };
  }
  return {
    status: 500,
    json: {
      error: {
        code: 'INTERNAL',
        message: 'internal error',
        hint: 'This is a bug; the console log has details.',
      },
    },
  };
}

export function send(res: ServerResponse, reply: Reply, head: boolean): void {
  const body = reply.json !== undefined ? Buffer.from(JSON.stringify(reply.json)) : reply.body;
  const headers: Record<string, string | number> = { ...(reply.headers ?? {}) };
  if (reply.json !== undefined) headers['content-type'] = 'application/json; charset=utf-8';
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(reply.status, headers);
  res.end(head ? undefined : body);
}
