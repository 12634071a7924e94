/**
 * Rule conditions and request subjects. A request is normalized once into one or
 * more subjects (one per simple command of a command line); each compiled
 * condition answers true, false, or undefined when the subject's target is missing
 * or unreadable. Undefined is decided fail-closed by the caller: a deny rule
 * matches, an allow rule does not.
 */
import { ACTIONS, type Action, actionIndex, MATCH_FIELDS, type MatchField } from './actions.js';
import {
  compileCommandGlob,
  compileHostGlob,
  compileNameGlob,
  compilePathGlob,
  MAX_NAME_LENGTH,
  normalizeHost,
  normalizePathPattern,
  normalizeRequestCommand,
  normalizeRequestPath,
} from './glob.js';

/** What an agent asks to do. Give the target field the action takes. */
export interface PolicyRequest {
  action: string;
  path?: string;
  command?: string;
  url?: string;
  host?: string;
  name?: string;
}

/** A request normalized once: segments and words are split here, not per rule. */
export interface Subject {
  actionIdx: number;
  pathSegs?: string[];
  words?: string[];
  baseWords?: string[];
  scheme?: string;
  host?: string;
  hostLabels?: string[];
  port?: number;
  urlPathSegs?: string[];
  name?: string;
}

export type Condition = (s: Subject) => boolean | undefined;

const MAX_URL_LENGTH = 8192;
const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, ws: 80, wss: 443, ftp: 21 };

const URL_PATTERN = /^([a-z][a-z0-9+.-]*|\*):\/\/(\[[^\]]*\]|[^/:?#]*)(?::(\d{1,5}|\*))?(\/[^?#]*)?$/i;

function compileUrl(pattern: string): Condition | { error: string } {
  if (/[?#]/.test(pattern))
    return { error: 'must not contain a query or fragment: only scheme, host, port and path are matched' };
  const m = URL_PATTERN.exec(pattern);
  if (!m)
    return {
      error: 'must look like "https://host.example.com/path/**" (scheme, host, optional port and path glob)',
    };
  const scheme = (m[1] as string).toLowerCase();
  const host = compileHostGlob(m[2] as string);
  if ('error' in host) return { error: `host ${host.error}` };
  const portText = m[3];
  const port = portText === undefined ? undefined : portText === '*' ? '*' : Number(portText);
  const pathPattern = normalizePathPattern(m[4] ?? '/**');
  if ('error' in pathPattern) return { error: `path ${pathPattern.error}` };
  const pathGlob = compilePathGlob(pathPattern.pattern);
  return (s) => {
    if (s.scheme === undefined || s.host === undefined || s.urlPathSegs === undefined) return undefined;
    if (scheme !== '*' && s.scheme !== scheme) return false;
    // A pattern without a port matches the scheme's default port only.
    if (port === undefined ? s.port !== DEFAULT_PORTS[s.scheme] : port !== '*' && s.port !== port)
      return false;
    return host(s.hostLabels as string[], s.host) && pathGlob(s.urlPathSegs);
  };
}

function compileHost(pattern: string): Condition | { error: string } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d{1,5}|\*))?$/.exec(pattern);
  if (!m) return { error: 'must be "host", "host:port" or "*.example.com" (a glob)' };
  const host = compileHostGlob(m[1] as string);
  if ('error' in host) return host;
  const port = m[2] === undefined || m[2] === '*' ? undefined : Number(m[2]);
  return (s) => {
    if (s.host === undefined) return undefined;
    if (!host(s.hostLabels as string[], s.host)) return false;
    if (port === undefined) return true;
    return s.port === undefined ? undefined : s.port === port;
  };
}

/** Compile one condition of a rule; `deny` decides whether commands also match by program basename. */
export function compileCondition(
  field: MatchField,
  pattern: string,
  deny: boolean,
): Condition | { error: string } {
  switch (field) {
    case 'path': {
      const n = normalizePathPattern(pattern);
      if ('error' in n) return n;
      const glob = compilePathGlob(n.pattern);
      return (s) => (s.pathSegs === undefined ? undefined : glob(s.pathSegs));
    }
    case 'command': {
      const g = compileCommandGlob(pattern);
      if ('error' in g) return g;
      const { test } = g;
      // Deny rules written as `sudo *` also catch `/usr/bin/sudo …`; allow rules never
      // widen that way (an allowed `git` must not admit `/tmp/evil/git`).
      if (deny && g.bareProgram) {
        return (s) => (s.words === undefined ? undefined : test(s.words) || test(s.baseWords as string[]));
      }
      return (s) => (s.words === undefined ? undefined : test(s.words));
    }
    case 'url':
      return compileUrl(pattern);
    case 'host':
      return compileHost(pattern);
    case 'name': {
      const m = compileNameGlob(pattern);
      if ('error' in m) return m;
      return (s) => (s.name === undefined ? undefined : m(s.name));
    }
  }
}

function parseHostPort(text: string): { host: string; port?: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m || text.length > 300) return undefined;
  const host = normalizeHost(m[1] as string);
  return m[2] === undefined ? { host } : { host, port: Number(m[2]) };
}

function setHost(s: Subject, host: string): void {
  s.host = host;
  s.hostLabels = host.startsWith('[') ? [host] : host.split('.');
}

function urlSubject(s: Subject, text: string): void {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return;
  }
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  const port = u.port === '' ? DEFAULT_PORTS[scheme] : Number(u.port);
  s.scheme = scheme;
  setHost(s, normalizeHost(u.hostname));
  s.urlPathSegs = (u.pathname || '/').split('/');
  if (port !== undefined) s.port = port;
}

/**
 * Normalize a request into subjects, once per evaluation. A request that cannot
 * be judged is refused with a reason (the caller denies it): an unknown action, a
 * missing target, a field the action does not take, both a url and a host, an
 * empty, over-long, NUL-containing or escaping path, an unusable name.
 * A command line yields one subject per simple command. A command, URL or host that
 * is present but unreadable (opaque, unparsable) leaves its subject field unset,
 * which conditions answer with undefined (fail closed, see evaluate.ts).
 */
export function toSubjects(req: PolicyRequest): Subject[] | string {
  const actionIdx = actionIndex(req.action);
  if (actionIdx === undefined) return `unknown action ${JSON.stringify(req.action)}`;
  const fields = ACTIONS[req.action as Action] as readonly MatchField[];
  let given = false;
  for (const f of MATCH_FIELDS) {
    if (req[f] === undefined) continue;
    if (!fields.includes(f)) return `${req.action} takes ${fields.join(' or ')}, not ${f}`;
    given = true;
  }
  if (!given) return `the request has no ${fields.join(' or ')}`;
  // One target per request: a URL and a separate host could disagree about where it goes.
  if (req.url !== undefined && req.host !== undefined) return 'give url or host, not both';
  const s: Subject = { actionIdx };
  if (req.path !== undefined) {
    const p = normalizeRequestPath(req.path);
    if (p === undefined) return 'the path is empty, too long, contains NUL or climbs above its start';
    s.pathSegs = p.split('/');
  }
  if (req.name !== undefined) {
    if (req.name === '' || req.name.includes('\0') || req.name.length > MAX_NAME_LENGTH) {
      return 'the name is empty, too long or contains NUL';
    }
    s.name = req.name;
  }
  if (req.url !== undefined) {
    if (req.url.length <= MAX_URL_LENGTH) urlSubject(s, req.url);
  } else if (req.host !== undefined) {
    const hp = parseHostPort(req.host);
    if (hp) {
      setHost(s, hp.host);
      if (hp.port !== undefined) s.port = hp.port;
    }
  }
  if (req.command === undefined) return [s];
  const cmds = normalizeRequestCommand(req.command);
  if (!cmds) return [s];
  return cmds.map((c) => ({ ...s, words: c.words, baseWords: c.baseWords }));
}

/** The field an action's target is given in, for logs and messages. */
export function targetOf(req: PolicyRequest): { field: MatchField; value: string } | undefined {
  for (const f of ['path', 'command', 'url', 'host', 'name'] as const) {
    const v = req[f];
    if (v !== undefined) return { field: f, value: v };
  }
  return undefined;
}

export type { Action };
