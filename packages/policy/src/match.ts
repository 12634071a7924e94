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
  hostKey,
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

export interface Subject {
  actionIdx: number;
  path?: string;
  cmdFull?: string;
  cmdBase?: string;
  scheme?: string;
  host?: string;
  port?: number;
  urlPath?: string;
  name?: string;
}

export type Condition = (s: Subject) => boolean | undefined;

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
  const pathRe = compilePathGlob(pathPattern.pattern);
  return (s) => {
    if (s.scheme === undefined || s.host === undefined || s.urlPath === undefined) return undefined;
    if (scheme !== '*' && s.scheme !== scheme) return false;
    // A pattern without a port matches the scheme's default port only.
    if (port === undefined ? s.port !== DEFAULT_PORTS[s.scheme] : port !== '*' && s.port !== port)
      return false;
    return host.test(s.host) && pathRe.test(s.urlPath);
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
    if (!host.test(s.host)) return false;
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
      const re = compilePathGlob(n.pattern);
      return (s) => (s.path === undefined ? undefined : re.test(s.path));
    }
    case 'command': {
      const g = compileCommandGlob(pattern);
      if ('error' in g) return g;
      const { re } = g;
      // Deny rules written as `sudo *` also catch `/usr/bin/sudo …`; allow rules never
      // widen that way (an allowed `git` must not admit `/tmp/evil/git`).
      if (deny && g.bareProgram) {
        return (s) =>
          s.cmdFull === undefined ? undefined : re.test(s.cmdFull) || re.test(s.cmdBase as string);
      }
      return (s) => (s.cmdFull === undefined ? undefined : re.test(s.cmdFull));
    }
    case 'url':
      return compileUrl(pattern);
    case 'host':
      return compileHost(pattern);
    case 'name': {
      const re = compileNameGlob(pattern);
      if ('error' in re) return re;
      return (s) => (s.name === undefined ? undefined : re.test(s.name));
    }
  }
}

function parseHostPort(text: string): { host: string; port?: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) return undefined;
  const host = hostKey(m[1] as string);
  return m[2] === undefined ? { host } : { host, port: Number(m[2]) };
}

function urlSubject(base: Subject, text: string): Subject {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return base;
  }
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  const port = u.port === '' ? DEFAULT_PORTS[scheme] : Number(u.port);
  const out: Subject = { ...base, scheme, host: hostKey(u.hostname), urlPath: u.pathname || '/' };
  if (port !== undefined) out.port = port;
  return out;
}

/**
 * Normalize a request into subjects, once per evaluation. A request that cannot
 * be judged is refused with a reason (the caller denies it): an unknown action, a
 * missing target, a field the action does not take, an empty or NUL path or name.
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
  let s: Subject = { actionIdx };
  if (req.path !== undefined) {
    const p = normalizeRequestPath(req.path);
    if (p === undefined) return 'the path is empty or contains NUL';
    s.path = p;
  }
  if (req.name !== undefined) {
    if (req.name === '' || req.name.includes('\0')) return 'the name is empty or contains NUL';
    s.name = req.name;
  }
  if (req.url !== undefined) s = urlSubject(s, req.url);
  else if (req.host !== undefined) {
    const hp = parseHostPort(req.host);
    if (hp) {
      s.host = hp.host;
      if (hp.port !== undefined) s.port = hp.port;
    }
  }
  if (req.command === undefined) return [s];
  const cmds = normalizeRequestCommand(req.command);
  if (!cmds) return [s];
  return cmds.map((c) => ({ ...s, cmdFull: c.full, cmdBase: c.base }));
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
