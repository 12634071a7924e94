/**
 * Probe targets for `policy diff`. A decision depends only on which rule
 * conditions a target satisfies, so comparing two policies on targets drawn from
 * every region those conditions carve out finds every widening. We derive the
 * targets from the patterns of both policies: each pattern instantiated with
 * default fillers, with each wildcard in turn filled by literal pieces of every
 * other pattern (to land in intersections such as `src/**` x `*.env`), parents and
 * children of those instances, and targets that match nothing. See
 * docs/policies.md ("How diff finds widened permissions") for the limits.
 */
import { ACTIONS, type Action, type MatchField } from './actions.js';
import { tokenizeCommand } from './command.js';
import type { PolicyRequest } from './match.js';

type Piece =
  | { t: 'lit'; s: string }
  | { t: 'star' }
  | { t: 'globstar' }
  | { t: 'q' }
  | { t: 'alt'; options: string[] };

/** Split a glob into literal text and wildcards (brackets become their first member). */
function pieces(pattern: string): Piece[] {
  const out: Piece[] = [];
  const lit = (s: string) => {
    const last = out.at(-1);
    if (last?.t === 'lit') last.s += s;
    else out.push({ t: 'lit', s });
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    if (c === '\\' && i + 1 < pattern.length) {
      lit(pattern[++i] as string);
    } else if (c === '*') {
      if (pattern[i + 1] === '*') {
        out.push({ t: 'globstar' });
        i += 1;
      } else out.push({ t: 'star' });
    } else if (c === '?') out.push({ t: 'q' });
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      const body = end < 0 ? '' : pattern.slice(i + 1, end);
      if (end < 0) lit(c);
      else {
        const neg = body.startsWith('!') || body.startsWith('^');
        lit(neg ? '~' : (body[0] ?? 'x'));
        i = end;
      }
    } else if (c === '{') {
      const end = pattern.indexOf('}', i);
      if (end < 0) lit(c);
      else {
        out.push({ t: 'alt', options: pattern.slice(i + 1, end).split(',') });
        i = end;
      }
    } else lit(c);
  }
  return out;
}

const STAR_FILL = ['x', '', '.hidden', 'x.y'];
const GLOBSTAR_FILL = ['x', 'x/y', '.hidden/x', ''];

/** Instances of a glob: defaults everywhere, then each wildcard in turn with each filler. */
function instances(pattern: string, fillers: readonly string[], globstarFill = GLOBSTAR_FILL): string[] {
  const ps = pieces(pattern);
  const fillFor = (p: Piece, variant: string | undefined): string[] => {
    switch (p.t) {
      case 'lit':
        return [p.s];
      case 'star':
        return variant === undefined ? ['x'] : [variant];
      case 'globstar':
        return variant === undefined ? ['x'] : [variant];
      case 'q':
        return variant === undefined ? ['x'] : [variant.slice(0, 1) || 'x'];
      case 'alt':
        return variant === undefined ? p.options : [variant];
    }
  };
  const build = (k: number, variant: string | undefined): string[] => {
    let acc = [''];
    ps.forEach((p, i) => {
      const opts = fillFor(p, i === k ? variant : undefined);
      acc = acc.flatMap((a) => opts.map((o) => a + o));
    });
    return acc;
  };
  const out = new Set(build(-1, undefined));
  ps.forEach((p, k) => {
    const variants =
      p.t === 'globstar'
        ? [...globstarFill, ...fillers]
        : p.t === 'star' || p.t === 'q'
          ? [...STAR_FILL, ...fillers]
          : [];
    for (const v of variants) for (const s of build(k, v)) out.add(s);
  });
  return [...out];
}

function literalParts(pattern: string, split: RegExp): string[] {
  return pieces(pattern)
    .flatMap((p) => (p.t === 'lit' ? p.s.split(split) : p.t === 'alt' ? p.options : []))
    .filter((s) => s !== '');
}

function pathProbes(patterns: readonly string[]): string[] {
  const fillers = [...new Set(patterns.flatMap((p) => literalParts(p, /\//)))].slice(0, 40);
  const out = new Set<string>(['zz-probe/none', '/zz-probe/none', '.zz-probe']);
  for (const p of patterns) {
    const base = p.endsWith('/') ? `${p}**` : p;
    for (const inst of instances(base, fillers)) {
      const clean = inst.replace(/\/{2,}/g, '/').replace(/\/$/, '') || '/';
      out.add(clean);
      out.add(`${clean}/zz`);
      out.add(`${clean}/.zz`);
      const parent = clean.slice(0, clean.lastIndexOf('/'));
      if (parent) out.add(parent);
    }
  }
  return [...out];
}

function quoteWord(w: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

function commandProbes(patterns: readonly string[]): string[] {
  const words = new Set<string>();
  const parsed = patterns.map((p) => {
    const t = tokenizeCommand(p);
    const ws = (t.commands[0] ?? []).map((w) =>
      w.map((part) => (part.quoted ? part.text.replace(/[*?]/g, '\\$&') : part.text)).join(''),
    );
    for (const w of ws) if (!/[*?]/.test(w)) words.add(w);
    return ws;
  });
  const fillers = [...words].slice(0, 30);
  const out = new Set<string>(['zz-probe', 'zz-probe --flag', 'x $(zz-probe)']);
  for (const ws of parsed) {
    // Each word's instances; a whole-word `*` also stands for zero or several words.
    const perWord = ws.map((w) =>
      w === '*' || w === '**'
        ? ['', 'x', '-rf /', ...fillers]
        : instances(w, fillers, STAR_FILL).map(quoteWord),
    );
    const defaults = perWord.map((opts) => opts[0] ?? '');
    perWord.forEach((opts, k) => {
      for (const o of opts) {
        const line = defaults
          .map((d, i) => (i === k ? o : d))
          .filter((s) => s !== '')
          .join(' ');
        if (line === '') continue;
        out.add(line);
        out.add(`${line} zz`);
        out.add(`/usr/bin/${line}`);
      }
    });
  }
  return [...out];
}

function hostInstances(patterns: readonly string[]): string[] {
  const hosts = patterns.map((h) => h.replace(/:(\d+|\*)$/, ''));
  const fillers = [...new Set(hosts.flatMap((h) => literalParts(h, /\./)))].slice(0, 20);
  const out = new Set<string>(['zz-probe.invalid']);
  for (const h of hosts) {
    for (const inst of instances(h.replace(/\./g, '/'), fillers, ['x', 'x/y', ''])) {
      const host = inst.replace(/\/+/g, '.').replace(/^\.|\.$/g, '');
      if (host) out.add(host);
    }
  }
  return [...out];
}

function urlProbes(urlPatterns: readonly string[], hostPatterns: readonly string[]): string[] {
  const parts = urlPatterns.map((u) => /^([^:]+):\/\/(\[[^\]]*\]|[^/:]*)(?::(\d+|\*))?(\/.*)?$/.exec(u));
  const hosts = hostInstances([...hostPatterns, ...parts.map((m) => m?.[2] ?? '')].filter((h) => h !== ''));
  const paths = pathProbes(parts.map((m) => m?.[4] ?? '/**')).filter((p) => p.startsWith('/'));
  const schemes = new Set(['https', 'http', ...parts.map((m) => m?.[1] ?? 'https').filter((s) => s !== '*')]);
  const ports = new Set(['', ':8443', ...parts.map((m) => (m?.[3] && m[3] !== '*' ? `:${m[3]}` : ''))]);
  const out = new Set<string>(['not a url']);
  for (const s of schemes) for (const h of hosts) for (const p of ports) out.add(`${s}://${h}${p}/`);
  for (const h of hosts) for (const path of paths) out.add(`https://${h}${path}`);
  for (const m of parts) {
    if (!m) continue;
    const scheme = m[1] === '*' ? 'https' : m[1];
    const port = m[3] === undefined ? '' : m[3] === '*' ? ':8443' : `:${m[3]}`;
    for (const h of hostInstances([m[2] ?? ''])) {
      for (const path of pathProbes([m[4] ?? '/**']).filter((x) => x.startsWith('/')))
        out.add(`${scheme}://${h}${port}${path}`);
    }
  }
  return [...out];
}

function nameProbes(patterns: readonly string[]): string[] {
  const fillers = [...new Set(patterns.flatMap((p) => literalParts(p, /_/)))].slice(0, 30);
  const out = new Set<string>(['ZZ_PROBE']);
  for (const p of patterns) for (const i of instances(p, fillers, STAR_FILL)) if (i !== '') out.add(i);
  return [...out];
}

/** Probe requests for one action, from the patterns both policies use for it. */
export function probeRequests(
  action: Action,
  patterns: ReadonlyMap<MatchField, readonly string[]>,
  cap: number,
): PolicyRequest[] {
  const fields = ACTIONS[action] as readonly MatchField[];
  const get = (f: MatchField) => patterns.get(f) ?? [];
  const out: PolicyRequest[] = [];
  const add = (field: MatchField, values: readonly string[]) => {
    for (const value of values) if (out.length < cap) out.push({ action, [field]: value });
  };
  if (fields.includes('path')) add('path', pathProbes(get('path')));
  if (fields.includes('command')) add('command', commandProbes(get('command')));
  if (fields.includes('url')) add('url', urlProbes(get('url'), get('host')));
  else if (fields.includes('host')) {
    const hosts = hostInstances(get('host'));
    const ports = [...new Set(get('host').flatMap((h) => /:(\d+)$/.exec(h)?.[1] ?? []))];
    add('host', [
      ...hosts,
      ...hosts.flatMap((h) => ['22', '8443', ...ports].map((p) => `${h}:${p}`)),
      '::bad host',
    ]);
  }
  if (fields.includes('name')) add('name', nameProbes(get('name')));
  return out;
}
