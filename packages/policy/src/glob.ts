/**
 * Pattern compilers. Every pattern is compiled once, when the policy is loaded,
 * into tokens for the linear-time matchers in wildcard.ts; a request is
 * normalized once (split into segments or words) and then only compared.
 *
 * - path globs: picomatch syntax and semantics with `dot: true` (wildcards match
 *   dotfiles, so a deny on `secrets/**` cannot be side-stepped with `secrets/.key`);
 *   picomatch checks the syntax, matching is linear (see wildcard.ts for why). A
 *   trailing `/` means the directory and everything under it.
 * - command globs: word by word (see command.ts); a whole unquoted `*` word matches
 *   any number of words (including none), `*`/`?` inside a word match within
 *   that word; quoted characters are literal.
 * - host globs: labels are matched like path segments: `*` is one label, `**` any
 *   number of labels.
 * - name globs (env / secret names): `*` any run of characters, `?` one, `\` escapes.
 */
import picomatch from 'picomatch';
import { tokenizeCommand, type Word, wordText } from './command.js';
import { charMatcher, greedyMatch, literalOf, parseChars } from './wildcard.js';

/** Requests longer than this are refused (no path on a real system is longer). */
export const MAX_PATH_LENGTH = 4096;
export const MAX_COMMAND_LENGTH = 65536;
export const MAX_NAME_LENGTH = 1024;
const MAX_ALTERNATIVES = 64;

type Seg = { k: 'globstar' } | { k: 'lit'; s: string } | { k: 'wild'; m: (s: string) => boolean };
const isGlobstar = (t: Seg) => t.k === 'globstar';
function segOne(t: Seg, s: string): boolean {
  if (t.k === 'lit') return t.s === s;
  // Like picomatch: a wildcard never matches an empty segment, `.` or `..`.
  return t.k === 'wild' && s !== '' && s !== '.' && s !== '..' && t.m(s);
}

/** Matches pre-split segments (`path.split('/')`). */
export type SegmentsMatcher = (segments: readonly string[]) => boolean;

/** Expand `{a,b}` alternatives (nested allowed); a brace group without a comma is literal. */
export function expandBraces(pattern: string): string[] | { error: string } {
  let depth = 0;
  let open = -1;
  const commas: number[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i += 1;
    else if (c === '{') {
      if (depth === 0) open = i;
      depth += 1;
    } else if (c === '}') {
      depth -= 1;
      if (depth < 0) return { error: 'has a "}" without "{" (write "\\}" for a literal brace)' };
      if (depth === 0) {
        const head = pattern.slice(0, open);
        const tail = pattern.slice(i + 1);
        if (commas.length === 0) {
          const rest = expandBraces(tail);
          if ('error' in rest) return rest;
          return rest.map((r) => `${head}\\{${pattern.slice(open + 1, i)}\\}${r}`);
        }
        const bounds = [open, ...commas, i];
        const out: string[] = [];
        for (let k = 0; k + 1 < bounds.length; k++) {
          const sub = expandBraces(
            `${head}${pattern.slice((bounds[k] as number) + 1, bounds[k + 1])}${tail}`,
          );
          if ('error' in sub) return sub;
          out.push(...sub);
          if (out.length > MAX_ALTERNATIVES)
            return { error: `expands to more than ${MAX_ALTERNATIVES} alternatives` };
        }
        return out;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (depth > 0) return { error: 'has an unterminated "{" (write "\\{" for a literal brace)' };
  return [pattern];
}

function compileSegments(pattern: string): Seg[] | { error: string } {
  const out: Seg[] = [];
  for (const part of pattern.split('/')) {
    if (part === '**') {
      if (out.at(-1)?.k !== 'globstar') out.push({ k: 'globstar' });
      continue;
    }
    if (/[@!+*?]\(/.test(part)) return { error: 'extglobs like @(a|b) are not supported: use {a,b}' };
    const t = parseChars(part);
    if ('error' in t) return t;
    const lit = literalOf(t);
    out.push(lit === undefined ? { k: 'wild', m: charMatcher(t) } : { k: 'lit', s: lit });
  }
  return out;
}

/** Compile a slash-separated glob (paths, URL paths, hosts as labels). */
export function compileSegmentGlob(pattern: string): SegmentsMatcher | { error: string } {
  const alts = expandBraces(pattern);
  if ('error' in alts) return alts;
  const compiled: Seg[][] = [];
  for (const a of alts) {
    const c = compileSegments(a);
    if ('error' in c) return c;
    compiled.push(c);
  }
  const only = compiled[0] as Seg[];
  if (compiled.length === 1) return (segments) => greedyMatch(only, segments, isGlobstar, segOne);
  return (segments) => compiled.some((c) => greedyMatch(c, segments, isGlobstar, segOne));
}

/** Normalize a path pattern or return why it is invalid. */
export function normalizePathPattern(pattern: string): { pattern: string } | { error: string } {
  if (pattern === '') return { error: 'must not be empty' };
  if (pattern.includes('\0')) return { error: 'must not contain a NUL character' };
  if (pattern.startsWith('!')) {
    return { error: 'negated globs are not supported: put a deny rule before the allow rule instead' };
  }
  let p = pattern.replace(/\/{2,}/g, '/');
  while (p.startsWith('./')) p = p.slice(2);
  if (p.split('/').some((s) => s === '.' || s === '..')) {
    return { error: 'must not contain "." or ".." segments (request paths are normalized before matching)' };
  }
  if (p.endsWith('/') && p.length > 1) p = `${p}**`;
  try {
    picomatch.makeRe(p, { dot: true, strictBrackets: true });
  } catch (err) {
    return { error: `is not a valid glob: ${(err as Error).message}` };
  }
  const c = compileSegmentGlob(p);
  return 'error' in c ? { error: `is not a valid glob: ${c.error}` } : { pattern: p };
}

export function compilePathGlob(normalized: string): SegmentsMatcher {
  const c = compileSegmentGlob(normalized);
  if ('error' in c) throw new Error(`path glob ${normalized}: ${c.error}`);
  return c;
}

/**
 * Lexically normalize a request path: collapse `//`, drop `.`, resolve `..` (an
 * absolute path cannot climb above `/`). Undefined when unusable: empty, NUL,
 * too long, or a relative path that climbs above where it starts.
 */
export function normalizeRequestPath(path: string): string | undefined {
  if (path === '' || path.includes('\0') || path.length > MAX_PATH_LENGTH) return undefined;
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0) out.pop();
      else if (!absolute) return undefined;
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  return absolute ? `/${joined}` : joined === '' ? '.' : joined;
}

type WordTok = { k: 'words' } | { k: 'lit'; s: string } | { k: 'wild'; m: (w: string) => boolean };
const isWordsStar = (t: WordTok) => t.k === 'words';
const wordOne = (t: WordTok, w: string) => (t.k === 'lit' ? t.s === w : t.k === 'wild' && t.m(w));

function wordToken(word: Word): WordTok | { error: string } {
  if (word.length === 1 && word[0]?.quoted === false && /^\*{1,2}$/.test(word[0].text)) return { k: 'words' };
  let text = '';
  const quoted: boolean[] = [];
  for (const part of word) {
    // A backslash in an unquoted part is already literal-marked by the tokenizer.
    for (let k = 0; k < part.text.length; k++) {
      const ch = part.text[k] as string;
      text += ch;
      quoted.push(part.quoted || (ch !== '*' && ch !== '?'));
    }
  }
  const t = parseChars(text, (i) => quoted[i] === true);
  if ('error' in t) return t;
  const lit = literalOf(t);
  return lit === undefined ? { k: 'wild', m: charMatcher(t) } : { k: 'lit', s: lit };
}

export interface CommandGlob {
  test(words: readonly string[]): boolean;
  /** The first word has no `/`: deny rules also match it against the program's basename. */
  bareProgram: boolean;
}

/** Compile a command pattern, or say why it is invalid. */
export function compileCommandGlob(pattern: string): CommandGlob | { error: string } {
  if (pattern.trim() === '') return { error: 'must not be empty' };
  const t = tokenizeCommand(pattern);
  if (t.error) return { error: `cannot be read: ${t.error}` };
  if (t.commands.length !== 1) {
    return {
      error:
        'must be one simple command: `;`, `&`, `|` and newlines split a command line and each part is checked on its own',
    };
  }
  if (t.opaque) {
    return {
      error:
        'must not contain expansions or redirections (`$`, backquote, `<`, `>`): such commands are opaque and only deny rules apply to them',
    };
  }
  const words = t.commands[0] as Word[];
  const toks: WordTok[] = [];
  for (const w of words) {
    const tok = wordToken(w);
    if ('error' in tok) return tok;
    if (tok.k !== 'words' || toks.at(-1)?.k !== 'words') toks.push(tok);
  }
  const first = toks[0] as WordTok;
  return {
    test: (ws) => greedyMatch(toks, ws, isWordsStar, wordOne),
    bareProgram: first.k === 'words' || !wordText(words[0] as Word).includes('/'),
  };
}

export interface NormalizedCommand {
  words: string[];
  /** Same, with the program reduced to its basename (`/usr/bin/sudo` -> `sudo`). */
  baseWords: string[];
}

const PLAIN_COMMAND = /^[^'"\\;&|\n`$<>\0]*$/;
const WHITESPACE = /[ \t\r]+/;

function normalizedWords(words: string[]): NormalizedCommand {
  const program = words[0] ?? '';
  return { words, baseWords: [program.slice(program.lastIndexOf('/') + 1), ...words.slice(1)] };
}

/** Normalize a command line for matching; undefined when it cannot be read or is opaque. */
export function normalizeRequestCommand(line: string): NormalizedCommand[] | undefined {
  if (line.length > MAX_COMMAND_LENGTH) return undefined;
  // Fast path: no quoting, escapes, separators, expansions or redirections, so the
  // shell's word splitting is plain whitespace splitting (same result as tokenizeCommand).
  if (PLAIN_COMMAND.test(line)) {
    const words = line.split(WHITESPACE).filter((w) => w !== '');
    return words.length === 0 ? undefined : [normalizedWords(words)];
  }
  const t = tokenizeCommand(line);
  if (t.error || t.opaque || t.commands.length === 0) return undefined;
  return t.commands.map((words) => normalizedWords(words.map(wordText)));
}

/** Compile a name glob (`AWS_*`). */
export function compileNameGlob(pattern: string): ((name: string) => boolean) | { error: string } {
  if (pattern === '') return { error: 'must not be empty' };
  if (pattern.includes('\0')) return { error: 'must not contain a NUL character' };
  const t = parseChars(pattern);
  if ('error' in t) return t;
  const lit = literalOf(t);
  return lit === undefined ? charMatcher(t) : (name) => name === lit;
}

/** Host globs are matched label by label (`api.example.com` as `api/example/com`). */
export function compileHostGlob(
  host: string,
): ((labels: readonly string[], host: string) => boolean) | { error: string } {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h.startsWith('[')) {
    if (!/^\[[0-9a-f:.]+\]$/.test(h)) return { error: 'is not a valid IPv6 literal' };
    return (_labels, full) => full === h;
  }
  if (!/^[a-z0-9*?.-]+$/.test(h) || h.split('.').some((l) => l === '')) {
    return { error: 'must be a host name or glob like "*.example.com" (letters, digits, "-", ".", "*")' };
  }
  const m = compileSegmentGlob(h.replace(/\./g, '/'));
  if ('error' in m) return m;
  return (labels) => m(labels);
}

/** A request host, lower-cased, without a trailing dot. */
export function normalizeHost(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}
