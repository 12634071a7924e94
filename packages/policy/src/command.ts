/**
 * Command lines, read the way a POSIX shell splits them into words, so a rule
 * sees the same argv the shell would run: whitespace separates words, single
 * quotes are literal, double quotes keep spaces (backslash escapes `"` `\` `$`
 * and a backquote), a backslash outside quotes makes the next character literal.
 *
 * Control operators (`;` `&` `|` `&&` `||` newline) split the line into simple
 * commands, each of which must be allowed on its own. Expansions and redirections
 * (`$(`, `${`, `$NAME`, a backquote, `<`, `>`) make a command opaque: rules cannot
 * tell what it will run (`${X}sudo` is sudo once expanded), so only unconditioned
 * rules and deny rules apply to it.
 */

/** One piece of a word and whether it was quoted or escaped (quoted glob characters are literal). */
export interface WordPart {
  text: string;
  quoted: boolean;
}
export type Word = WordPart[];

export interface TokenizedCommand {
  /** Simple commands, each a list of words. */
  commands: Word[][];
  /** A substitution or redirection was present outside single quotes. */
  opaque: boolean;
  /** Set when the line cannot be read (an unterminated quote, a NUL). */
  error?: string;
}

const SPACE = new Set([' ', '\t', '\r']);
const SEPARATORS = new Set([';', '&', '|', '\n']);

/** `$(…)`, `${…}`, `$NAME`, `$1`, `$?`…: the shell substitutes text we cannot know. */
function expands(next: string | undefined): boolean {
  return next !== undefined && /[A-Za-z0-9_({@*#?$!-]/.test(next);
}

/** Split a command line into simple commands and words. Never throws. */
export function tokenizeCommand(line: string): TokenizedCommand {
  const commands: Word[][] = [];
  let words: Word[] = [];
  let word: Word | undefined;
  let opaque = false;
  const push = (text: string, quoted: boolean) => {
    word ??= [];
    const last = word.at(-1);
    if (last && last.quoted === quoted) last.text += text;
    else word.push({ text, quoted });
  };
  const endWord = () => {
    if (word) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  let i = 0;
  while (i < line.length) {
    const c = line[i] as string;
    if (c === '\0') return { commands: [], opaque, error: 'the command contains a NUL character' };
    if (SPACE.has(c)) {
      endWord();
      i += 1;
    } else if (SEPARATORS.has(c)) {
      endCommand();
      i += 1;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return { commands: [], opaque, error: 'unterminated single quote' };
      push(line.slice(i + 1, end), true);
      i = end + 1;
    } else if (c === '"') {
      let j = i + 1;
      let text = '';
      for (;;) {
        const d = line[j];
        if (d === undefined) return { commands: [], opaque, error: 'unterminated double quote' };
        if (d === '"') break;
        if (d === '\\' && j + 1 < line.length && '"\\$`\n'.includes(line[j + 1] as string)) {
          text += line[j + 1];
          j += 2;
          continue;
        }
        if (d === '`' || (d === '$' && expands(line[j + 1]))) opaque = true;
        text += d;
        j += 1;
      }
      push(text, true);
      i = j + 1;
    } else if (c === '\\') {
      const next = line[i + 1];
      if (next === undefined) return { commands: [], opaque, error: 'a trailing backslash' };
      if (next !== '\n') push(next, true);
      i += 2;
    } else {
      if (c === '`' || c === '<' || c === '>' || (c === '$' && expands(line[i + 1]))) opaque = true;
      push(c, false);
      i += 1;
    }
  }
  endCommand();
  return { commands, opaque };
}

/** The plain text of a word once quotes are removed. */
export function wordText(word: Word): string {
  let s = '';
  for (const p of word) s += p.text;
  return s;
}

/** Join words for matching: NUL cannot occur in argv, so it is an unambiguous word boundary. */
export function joinWords(words: readonly string[]): string {
  let s = '';
  for (const w of words) s += `\0${w}`;
  return s;
}
