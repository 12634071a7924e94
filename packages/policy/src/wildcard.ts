/**
 * Linear-time wildcard matching. Regular expressions built from globs backtrack
 * catastrophically on adversarial input: picomatch's regex for `**\/*a*a*a*b`
 * takes seconds on a 4 KiB path, and an agent chooses its request paths. These
 * matchers use the greedy "return to the last star" algorithm instead, which is
 * O(text x pattern) for any pattern, on characters within a segment or word and
 * on segments or words within a path or command line.
 */

export type CharToken =
  | { k: 'lit'; c: string }
  | { k: 'any' }
  | { k: 'star' }
  | { k: 'class'; neg: boolean; chars: string; ranges: [string, string][] };

function single(t: CharToken, c: string): boolean {
  switch (t.k) {
    case 'lit':
      return t.c === c;
    case 'any':
      return true;
    case 'class': {
      const hit = t.chars.includes(c) || t.ranges.some(([a, b]) => c >= a && c <= b);
      return hit !== t.neg;
    }
    case 'star':
      return false;
  }
}

/**
 * Match `items` against `tokens` where `isStar(token)` matches any run of items
 * (including none) and every other token matches exactly one item (`one`).
 */
export function greedyMatch<T, I>(
  tokens: readonly T[],
  items: ArrayLike<I>,
  isStar: (t: T) => boolean,
  one: (t: T, item: I) => boolean,
): boolean {
  let i = 0;
  let j = 0;
  let starJ = -1;
  let starI = 0;
  while (i < items.length) {
    const t = tokens[j];
    if (t !== undefined && !isStar(t) && one(t, items[i] as I)) {
      i += 1;
      j += 1;
    } else if (t !== undefined && isStar(t)) {
      starJ = j;
      starI = i;
      j += 1;
    } else if (starJ >= 0) {
      // Let the last star take one more item and retry from there.
      j = starJ + 1;
      starI += 1;
      i = starI;
    } else return false;
  }
  while (j < tokens.length && isStar(tokens[j] as T)) j += 1;
  return j === tokens.length;
}

const isCharStar = (t: CharToken) => t.k === 'star';

export function matchChars(tokens: readonly CharToken[], text: string): boolean {
  return greedyMatch(tokens, text, isCharStar, single);
}

/** True when the tokens are plain text (compare with `===`). */
export function literalOf(tokens: readonly CharToken[]): string | undefined {
  let s = '';
  for (const t of tokens) {
    if (t.k !== 'lit') return undefined;
    s += t.c;
  }
  return s;
}

/**
 * Parse glob characters: `*` (consecutive stars collapse), `?`, `[abc]`, `[a-z]`,
 * `[!x]`/`[^x]`, `\` escapes. `quoted` marks characters that are literal whatever
 * they are (quoted parts of a command word).
 */
export function parseChars(text: string, quoted?: (i: number) => boolean): CharToken[] | { error: string } {
  const out: CharToken[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted?.(i)) out.push({ k: 'lit', c });
    else if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) return { error: 'ends with a lone backslash' };
      out.push({ k: 'lit', c: next });
      i += 1;
    } else if (c === '*') {
      if (out.at(-1)?.k !== 'star') out.push({ k: 'star' });
    } else if (c === '?') out.push({ k: 'any' });
    else if (c === '[') {
      const cls = parseClass(text, i);
      if ('error' in cls) return cls;
      out.push(cls.token);
      i = cls.end;
    } else out.push({ k: 'lit', c });
  }
  return out;
}

function parseClass(text: string, start: number): { token: CharToken; end: number } | { error: string } {
  let i = start + 1;
  const neg = text[i] === '!' || text[i] === '^';
  if (neg) i += 1;
  let chars = '';
  const ranges: [string, string][] = [];
  let first = true;
  for (; i < text.length; i++) {
    let c = text[i] as string;
    if (c === ']' && !first) return { token: { k: 'class', neg, chars, ranges }, end: i };
    first = false;
    if (c === '[' && text[i + 1] === ':')
      return { error: 'POSIX classes like [[:alpha:]] are not supported' };
    if (c === '\\' && i + 1 < text.length) c = text[++i] as string;
    if (text[i + 1] === '-' && text[i + 2] !== undefined && text[i + 2] !== ']') {
      ranges.push([c, text[i + 2] as string]);
      i += 2;
    } else chars += c;
  }
  return { error: 'has an unterminated "[" (write "\\[" for a literal bracket)' };
}

/**
 * A matcher for one segment/word/name with fast paths for the common shapes
 * (`*`, `*.ext`, `prefix*`, `prefix*suffix`); everything else runs matchChars.
 */
export function charMatcher(tokens: readonly CharToken[]): (text: string) => boolean {
  const stars = tokens.filter((t) => t.k === 'star').length;
  const lits = tokens.every((t) => t.k === 'lit' || t.k === 'star');
  if (lits && stars === 1) {
    const at = tokens.findIndex((t) => t.k === 'star');
    const prefix = literalOf(tokens.slice(0, at)) ?? '';
    const suffix = literalOf(tokens.slice(at + 1)) ?? '';
    const min = prefix.length + suffix.length;
    return (s) => s.length >= min && s.startsWith(prefix) && s.endsWith(suffix);
  }
  return (s) => matchChars(tokens, s);
}
