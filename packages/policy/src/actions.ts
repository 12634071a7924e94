/**
 * The closed set of agent actions a policy can name, and which match field each
 * action takes. Anything outside this table is refused at validation time and
 * denied at evaluation time (fail closed), so a typo never silently matches nothing.
 */

export type MatchField = 'path' | 'command' | 'url' | 'host' | 'name';
export const MATCH_FIELDS: readonly MatchField[] = ['path', 'command', 'url', 'host', 'name'];

/** Every concrete action, with the fields a rule for it may constrain. */
export const ACTIONS = {
  'file.read': ['path'],
  'file.write': ['path'],
  'file.delete': ['path'],
  'file.list': ['path'],
  'shell.execute': ['command'],
  'process.spawn': ['command'],
  'network.http': ['url', 'host'],
  'network.connect': ['host'],
  'env.read': ['name'],
  'secret.read': ['name'],
} as const satisfies Record<string, readonly MatchField[]>;

export type Action = keyof typeof ACTIONS;
export const ACTION_NAMES = Object.keys(ACTIONS) as Action[];
const ACTION_INDEX = new Map<string, number>(ACTION_NAMES.map((a, i) => [a, i]));

export function isAction(name: string): name is Action {
  return ACTION_INDEX.has(name);
}

export function actionIndex(name: string): number | undefined {
  return ACTION_INDEX.get(name);
}

/**
 * Resolve a rule's `action` to the concrete actions it covers: an exact name,
 * `*` (every action) or `<namespace>.*` (e.g. `file.*`). Undefined when unknown.
 */
export function expandAction(pattern: string): Action[] | undefined {
  if (pattern === '*') return [...ACTION_NAMES];
  if (pattern.endsWith('.*')) {
    const ns = pattern.slice(0, -1);
    const list = ACTION_NAMES.filter((a) => a.startsWith(ns));
    return list.length > 0 ? list : undefined;
  }
  return isAction(pattern) ? [pattern] : undefined;
}

/** Fields valid for every action a pattern covers (the intersection). */
export function fieldsFor(actions: readonly Action[]): MatchField[] {
  return MATCH_FIELDS.filter((f) => actions.every((a) => (ACTIONS[a] as readonly string[]).includes(f)));
}

/** A hint for a near miss such as `file_read` or `shell.exec`. */
export function suggestAction(name: string): string | undefined {
  const dotted = name.replace(/_/g, '.').toLowerCase();
  if (isAction(dotted)) return dotted;
  const aliases: Record<string, Action> = {
    'shell.exec': 'shell.execute',
    'file.readfile': 'file.read',
    network: 'network.http',
    'network.fetch': 'network.http',
    'env.get': 'env.read',
  };
  return aliases[dotted] ?? ACTION_NAMES.find((a) => a.startsWith(dotted.split('.')[0] ?? '\0'));
}
