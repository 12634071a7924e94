/**
 * Replaying recorded GitHub REST exchanges. The offline demo (`clawback demo`) and the test
 * suites answer the approval check and the evidence pack from a recording instead of
 * api.github.com: either through a `fetch` given to `createGitHubClient({fetch})`, or over
 * HTTP on loopback for a real CLI process with `GITHUB_API_URL` pointing at it.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One recorded exchange: the request it answers and GitHub's response. */
export interface GitHubExchange {
  method: string;
  /** Path plus the query parameters that select this response (a subset of the request's). */
  path: string;
  status: number;
  response: unknown;
  headers?: Record<string, string>;
}

export interface GitHubReplay {
  fetch: typeof fetch;
  /** Every request made, as `METHOD /path?query`. */
  requests: string[];
  /** Requests no exchange answered (answered 501 so the caller fails loudly). */
  unmatched: string[];
}

function splitPath(path: string): { pathname: string; params: URLSearchParams } {
  const u = new URL(path, 'https://api.github.test');
  return { pathname: decodeURIComponent(u.pathname), params: u.searchParams };
}

function isSubset(want: URLSearchParams, have: URLSearchParams): boolean {
  for (const [k, v] of want) if (have.get(k) !== v) return false;
  return true;
}

function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const noBody = status === 204 || status === 304 || body === undefined || body === '';
  return new Response(noBody ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/**
 * A `fetch` that answers from exchanges. A request matches an exchange with the same method
 * and path whose query parameters are all present in the request; the exchange naming the
 * most parameters wins (so `page=2` selects the second page). Equally specific exchanges
 * answer in recorded order and the last one repeats.
 */
export function replayGitHubFetch(exchanges: readonly GitHubExchange[]): GitHubReplay {
  const requests: string[] = [];
  const unmatched: string[] = [];
  const parsed = exchanges.map((e) => ({ e, ...splitPath(e.path), method: e.method.toUpperCase() }));
  const used = new Set<(typeof parsed)[number]>();
  const replay = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input.toString() : input.url);
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    // GitHub Enterprise Server serves the API under /api/v3.
    const pathname = decodeURIComponent(url.pathname.replace(/^\/api\/v3/, ''));
    const label = `${method} ${pathname}${url.search}`;
    requests.push(label);
    const candidates = parsed
      .filter((x) => x.method === method && x.pathname === pathname && isSubset(x.params, url.searchParams))
      .sort((a, b) => [...b.params].length - [...a.params].length);
    const best = candidates.filter((c) => [...c.params].length === [...(candidates[0]?.params ?? [])].length);
    const hit = best.find((c) => !used.has(c)) ?? best.at(-1);
    if (hit) used.add(hit);
    const response = hit
      ? jsonResponse(hit.e.status, hit.e.response, hit.e.headers)
      : jsonResponse(501, { message: `no recorded exchange for ${label}` });
    if (!hit) unmatched.push(label);
    // A real fetch Response knows its URL; Octokit's paginator reads it.
    Object.defineProperty(response, 'url', { value: url.toString() });
    return response;
  };
  return { fetch: replay as typeof fetch, requests, unmatched };
}

export interface GitHubReplayServer extends GitHubReplay {
  /** API base for `GITHUB_API_URL`, e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** Serve exchanges over HTTP on 127.0.0.1 (a free port). */
export async function serveGitHubReplay(exchanges: readonly GitHubExchange[]): Promise<GitHubReplayServer> {
  const replay = replayGitHubFetch(exchanges);
  const server = createServer((req, res) => {
    void (async () => {
      const r = await replay.fetch(`http://127.0.0.1${req.url ?? '/'}`, { method: req.method ?? 'GET' });
      const headers: Record<string, string> = {};
      r.headers.forEach((v, k) => {
        headers[k] = v;
      });
      res.writeHead(r.status, headers);
      res.end(Buffer.from(await r.arrayBuffer()));
    })();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    ...replay,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((done, fail) => {
        server.closeAllConnections();
        server.close((err) => (err ? fail(err) : done()));
      }),
  };
}
