/**
 * CODEOWNERS, for path rules that say `codeowners: true`. Read from the same base
 * ref as the change policy (never from the PR, which could rewrite its owners).
 * Patterns follow GitHub's gitignore-style rules; the last matching line wins.
 */
import picomatch from 'picomatch';

/** Where GitHub looks, in its order. */
export const CODEOWNERS_PATHS = ['.github/CODEOWNERS', 'CODEOWNERS', 'docs/CODEOWNERS'] as const;

export interface CodeownersRule {
  pattern: string;
  /** `@user` and `@org/team` handles, without the `@`; e-mail owners are kept as written. */
  owners: string[];
  line: number;
}

export function parseCodeowners(text: string): CodeownersRule[] {
  const rules: CodeownersRule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const [pattern, ...owners] = line.split(/\s+/);
    if (!pattern) return;
    rules.push({ pattern, owners: owners.map((o) => o.replace(/^@/, '')), line: i + 1 });
  });
  return rules;
}

/** A CODEOWNERS pattern as picomatch globs (gitignore semantics). */
export function codeownersGlobs(pattern: string): string[] {
  let p = pattern;
  const dirOnly = p.endsWith('/');
  if (dirOnly) p = p.slice(0, -1);
  // A slash at the start or in the middle anchors the pattern at the repository root.
  const anchored = p.startsWith('/') || p.includes('/');
  p = p.replace(/^\//, '');
  const base = anchored ? p : `**/${p}`;
  if (p === '*' && !dirOnly) return ['**'];
  return dirOnly ? [`${base}/**`] : [base, `${base}/**`];
}

/** Owners of each file (files without an owner map to an empty list). */
export function ownersOf(
  rules: readonly CodeownersRule[],
  files: readonly string[],
): Record<string, string[]> {
  const matchers = rules.map((r) => ({ r, m: picomatch(codeownersGlobs(r.pattern), { dot: true }) }));
  const out: Record<string, string[]> = {};
  for (const f of files) {
    let owners: string[] = [];
    for (const { r, m } of matchers) if (m(f)) owners = r.owners;
    out[f] = owners;
  }
  return out;
}
