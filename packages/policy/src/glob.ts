/**
 * Pattern compilers. Every pattern is compiled once, when the policy is loaded,
 * into a RegExp, so evaluating a request only runs `RegExp.test` on strings that
 * were normalized once per request (no per-call compilation).
 *
 * - path globs: picomatch with `dot: true` (wildcards match dotfiles, so a deny on
 *   `secrets/**` cannot be side-stepped with `secrets/.key`); a trailing `/` means
 *   the directory and everything under it.
 * - command globs: word by word (see command.ts); a whole unquoted `*` word matches
 *   any number of words (including none), `*`/`?` inside a word match within
 *   that word; quoted characters are literal.
 * - host globs: labels are matched like path segments: `*` is one label, `**` any
 *   number of labels.
 * - name globs (env / secret names): `*` any run of characters, `?` one, `\` escapes.
 */
import picomatch from 'picomatch';
import { joinWords, tokenizeCommand, type Word, wordText } from './command.js';

const PATH_OPTIONS = { dot: true, strictBrackets: true } as const;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
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
  const segments = p.split('/');
  if (segments.some((s) => s === '.' || s === '..')) {
    return { error: 'must not contain "." or ".." segments (request paths are normalized before matching)' };
  }
  if (p.endsWith('/') && p.length > 1) p = `${p}**`;
  try {
    picomatch.makeRe(p, PATH_OPTIONS);
  } catch (err) {
    return { error: `is not a valid glob: ${(err as Error).message}` };
  }
  return { pattern: p };
}

export function compilePathGlob(normalized: string): RegExp {
  return picomatch.makeRe(normalized, PATH_OPTIONS);
}

/**
 * Lexically normalize a request path: collapse `//`, drop `.`, resolve `..`
 * (an absolute path cannot climb above `/`). Undefined when unusable.
 */
export function normalizeRequestPath(path: string): string | undefined {
  if (path === '' || path.includes('\0')) return undefined;
  const absolute = path.startsWith('/');
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out.at(-1) !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const joined = out.join('/');
  return absolute ? `/${joined}` : joined === '' ? '.' : joined;
}

const ANY_CHAR = '[^\\0]';

function wordRegex(word: Word): string {
  let re = '';
  for (const part of word) {
    if (part.quoted) {
      re += escapeRe(part.text);
      continue;
    }
    for (const ch of part.text) re += ch === '*' ? `${ANY_CHAR}*` : ch === '?' ? ANY_CHAR : escapeRe(ch);
  }
  return re;
}

function isAnyWords(word: Word): boolean {
  return word.length === 1 && word[0]?.quoted === false && /^\*{1,2}$/.test(word[0].text);
}

export interface CommandGlob {
  re: RegExp;
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
        'must not contain redirections or substitutions (`<` `>` `$(` backquote): such commands are opaque and only deny rules apply to them',
    };
  }
  const words = t.commands[0] as Word[];
  let re = '^';
  for (const w of words) re += isAnyWords(w) ? `(?:\\0${ANY_CHAR}*)*` : `\\0${wordRegex(w)}`;
  const first = words[0] as Word;
  return { re: new RegExp(`${re}$`, 's'), bareProgram: isAnyWords(first) || !wordText(first).includes('/') };
}

export interface NormalizedCommand {
  full: string;
  /** Same, with the program reduced to its basename (`/usr/bin/sudo` -> `sudo`). */
  base: string;
}

/** Normalize a command line for matching; undefined when it cannot be read or is opaque. */
export function normalizeRequestCommand(line: string): NormalizedCommand[] | undefined {
  // Fast path: no quoting, escapes, separators, substitutions or redirections, so the
  // shell's word splitting is plain whitespace splitting (same result as tokenizeCommand).
  if (PLAIN_COMMAND.test(line)) {
    const words = line.split(WHITESPACE).filter((w) => w !== '');
    return words.length === 0 ? undefined : [normalizedWords(words)];
  }
  const t = tokenizeCommand(line);
  if (t.error || t.opaque || t.commands.length === 0) return undefined;
  return t.commands.map((words) => normalizedWords(words.map(wordText)));
}

const PLAIN_COMMAND = /^[^'"\\;&|\n`$<>\0]*$/;
const WHITESPACE = /[ \t\r]+/;

function normalizedWords(texts: string[]): NormalizedCommand {
  const program = texts[0] ?? '';
  const base = program.slice(program.lastIndexOf('/') + 1);
  return { full: joinWords(texts), base: joinWords([base, ...texts.slice(1)]) };
}

/** Compile a name glob (`AWS_*`). */
export function compileNameGlob(pattern: string): RegExp | { error: string } {
  if (pattern === '') return { error: 'must not be empty' };
  if (pattern.includes('\0')) return { error: 'must not contain a NUL character' };
  let re = '^';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\') {
      const next = pattern[i + 1];
      if (next === undefined) return { error: 'ends with a lone backslash' };
      re += escapeRe(next);
      i += 1;
    } else re += ch === '*' ? '.*' : ch === '?' ? '.' : escapeRe(ch);
  }
  return new RegExp(`${re}$`, 's');
}

/** Host globs are matched label by label: `api.example.com` is read as `api/example/com`. */
export function compileHostGlob(host: string): RegExp | { error: string } {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (h.startsWith('[')) {
    if (!/^\[[0-9a-f:.]+\]$/.test(h)) return { error: 'is not a valid IPv6 literal' };
    return new RegExp(`^${escapeRe(h)}$`);
  }
  if (!/^[a-z0-9*?.-]+$/.test(h) || h.split('.').some((l) => l === '')) {
    return { error: 'must be a host name or glob like "*.example.com" (letters, digits, "-", ".", "*")' };
  }
  return picomatch.makeRe(h.replace(/\./g, '/'), { dot: true });
}

export function hostKey(hostname: string): string {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h.startsWith('[') ? h : h.replace(/\./g, '/');
}
