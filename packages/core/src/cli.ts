/**
 * A small command framework shared by `clawback`, `clawback-updater` and
 * `clawback-console` (house style 7): each command is a spec plus an async `run`
 * that is testable without a process; this file is the one place that parses
 * arguments, prints help, and maps errors to exit codes.
 */
import { parseArgs } from 'node:util';
import { ClawbackError, CoreErrors, ExitCode, exitCodeFor } from './errors.js';
import { redact } from './redact.js';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  description: string;
  /** Shown in help: `--key FILE`. */
  valueName?: string;
  default?: string | boolean;
}

export interface ArgSpec {
  name: string;
  description: string;
  required?: boolean;
  variadic?: boolean;
}

export interface CommandSpec {
  /** Space-separated words, e.g. "bundle build". */
  name: string;
  summary: string;
  description?: string;
  args?: readonly ArgSpec[];
  options?: Readonly<Record<string, OptionSpec>>;
  /** Whether the command supports `--json` (default true). */
  json?: boolean;
  /** Exit codes beyond the shared table, or the shared ones with a command-specific meaning. */
  exitCodes?: readonly { code: number; meaning: string }[];
  examples?: readonly string[];
  /**
   * Hand every remaining argument to `run` unparsed (`ctx.args`), like git's external
   * subcommands: the command delegates to another program, loaded only when it is used.
   */
  passthrough?: boolean;
  run(ctx: CommandContext): Promise<number | undefined>;
}

export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Clock, injectable for tests. */
  now?: () => Date;
}

export interface Program {
  name: string;
  version: string;
  summary: string;
  commands: readonly CommandSpec[];
}

type OptionValue = string | boolean | string[] | boolean[] | undefined;

export class CommandContext {
  readonly args: readonly string[];
  readonly json: boolean;
  readonly io: CliIo;
  readonly command: CommandSpec;
  private readonly values: Record<string, OptionValue>;

  constructor(command: CommandSpec, args: string[], values: Record<string, OptionValue>, io: CliIo) {
    this.command = command;
    this.args = args;
    this.values = values;
    this.io = io;
    this.json = values.json === true;
  }

  get env(): NodeJS.ProcessEnv {
    return this.io.env;
  }

  now(): Date {
    return this.io.now?.() ?? new Date();
  }

  /** Optional string option. */
  string(name: string): string | undefined {
    const v = this.values[name];
    if (Array.isArray(v)) return v.at(-1) as string | undefined;
    return typeof v === 'string' ? v : undefined;
  }

  /** Required string option: a usage error naming the flag when missing. */
  requireString(name: string): string {
    const v = this.string(name);
    if (v === undefined || v === '') {
      throw new ClawbackError(CoreErrors.USAGE, `--${name} is required`, {
        hint: `See \`${this.command.name} --help\`.`,
      });
    }
    return v;
  }

  strings(name: string): string[] {
    const v = this.values[name];
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
    return typeof v === 'string' ? [v] : [];
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** Integer option with bounds; a usage error otherwise. */
  integer(name: string, bounds: { min?: number; max?: number } = {}): number | undefined {
    const raw = this.string(name);
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (
      !Number.isInteger(n) ||
      (bounds.min !== undefined && n < bounds.min) ||
      (bounds.max !== undefined && n > bounds.max)
    ) {
      const range = `${bounds.min ?? '-∞'}..${bounds.max ?? '∞'}`;
      throw new ClawbackError(
        CoreErrors.USAGE,
        `--${name} must be a whole number in ${range}, got ${JSON.stringify(raw)}`,
      );
    }
    return n;
  }

  arg(index: number): string | undefined {
    return this.args[index];
  }

  requireArg(index: number): string {
    const v = this.args[index];
    const spec = this.command.args?.[index];
    if (v === undefined) {
      throw new ClawbackError(CoreErrors.USAGE, `missing argument ${spec?.name ?? `#${index + 1}`}`, {
        hint: `See \`${this.command.name} --help\`.`,
      });
    }
    return v;
  }

  /** Human output to stdout (suppressed in --json mode). */
  print(text: string): void {
    if (!this.json) this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** Machine output: printed only in --json mode. */
  printJson(value: unknown): void {
    if (this.json) this.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Result output: JSON in --json mode, else the human text. */
  result(value: unknown, human: string): void {
    if (this.json) this.printJson(value);
    else this.print(human);
  }

  /** Progress for long work always goes to stderr, so stdout stays parseable. */
  progress(text: string): void {
    if (this.io.env.CLAWBACK_QUIET === '1') return;
    this.io.stderr.write(`${text}\n`);
  }
}

const SHARED_EXIT_CODES: readonly { code: number; meaning: string }[] = [
  { code: ExitCode.OK, meaning: 'success' },
  { code: ExitCode.REJECTED, meaning: 'a check ran and failed (signature, approval, policy, health)' },
  { code: ExitCode.USAGE, meaning: 'bad command line' },
  { code: ExitCode.INPUT, meaning: 'an input file or value is missing or invalid' },
  {
    code: ExitCode.ENVIRONMENT,
    meaning: 'environment failure (network, disk, permissions, missing key or variable)',
  },
  { code: ExitCode.STATE, meaning: 'conflicts with current state (already exists, lock held)' },
  { code: ExitCode.INTERNAL, meaning: 'internal error (a bug): rerun with CLAWBACK_DEBUG=1 and report it' },
];

export function sharedExitCodes(): readonly { code: number; meaning: string }[] {
  return SHARED_EXIT_CODES;
}

function matchCommand(
  program: Program,
  argv: readonly string[],
): { command?: CommandSpec; rest: string[]; prefix: string[] } {
  // Longest match of leading words against command names.
  let best: CommandSpec | undefined;
  let bestLen = 0;
  for (const c of program.commands) {
    const words = c.name.split(' ');
    if (words.length > bestLen && words.every((w, i) => argv[i] === w)) {
      best = c;
      bestLen = words.length;
    }
  }
  if (best) return { command: best, rest: argv.slice(bestLen), prefix: argv.slice(0, bestLen) };
  const prefix: string[] = [];
  for (const a of argv) {
    if (a.startsWith('-')) break;
    prefix.push(a);
  }
  return { rest: argv.slice(prefix.length), prefix };
}

export function programHelp(program: Program, group: readonly string[] = []): string {
  const cmds = program.commands.filter((c) => group.every((w, i) => c.name.split(' ')[i] === w));
  const width = Math.max(...cmds.map((c) => c.name.length), 10);
  const lines = [
    `${program.name} ${program.version} — ${program.summary}`,
    '',
    `Usage: ${program.name} ${group.length ? `${group.join(' ')} ` : ''}<command> [options]`,
    '',
    'Commands:',
    ...cmds.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    `Run \`${program.name} <command> --help\` for a command's options and exit codes.`,
  ];
  return `${lines.join('\n')}\n`;
}

export function commandHelp(program: Program, c: CommandSpec): string {
  const args = (c.args ?? []).map((a) => {
    const n = a.variadic ? `${a.name}...` : a.name;
    return a.required === false ? `[${n}]` : n;
  });
  const opts = Object.entries(allOptions(c));
  const optCol = (name: string, o: OptionSpec) =>
    `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
  const width = Math.max(
    ...opts.map(([n, o]) => optCol(n, o).length),
    ...(c.args ?? []).map((a) => a.name.length),
    8,
  );
  const out = [
    `Usage: ${program.name} ${c.name}${args.length ? ` ${args.join(' ')}` : ''}${opts.length ? ' [options]' : ''}`,
    '',
    c.summary,
  ];
  if (c.description) out.push('', c.description);
  if (c.args?.length) {
    out.push('', 'Arguments:', ...c.args.map((a) => `  ${a.name.padEnd(width)}  ${a.description}`));
  }
  if (opts.length) {
    out.push(
      '',
      'Options:',
      ...opts.map(([n, o]) => {
        const extra = [
          o.multiple ? '(repeatable)' : '',
          o.default !== undefined ? `(default: ${String(o.default)})` : '',
        ]
          .filter(Boolean)
          .join(' ');
        return `  ${optCol(n, o).padEnd(width)}  ${o.description}${extra ? ` ${extra}` : ''}`;
      }),
    );
  }
  const codes = new Map(SHARED_EXIT_CODES.map((e) => [e.code, e.meaning]));
  for (const e of c.exitCodes ?? []) codes.set(e.code, e.meaning);
  out.push(
    '',
    'Exit codes:',
    ...[...codes.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `  ${String(k).padStart(2)}  ${v}`),
  );
  if (c.examples?.length) out.push('', 'Examples:', ...c.examples.map((e) => `  ${e}`));
  return `${out.join('\n')}\n`;
}

function allOptions(c: CommandSpec): Record<string, OptionSpec> {
  const base: Record<string, OptionSpec> = { ...(c.options ?? {}) };
  if (c.json !== false) base.json = { type: 'boolean', description: 'print machine-readable JSON on stdout' };
  base.help = { type: 'boolean', short: 'h', description: 'show this help' };
  return base;
}

/** Run a program with argv (without node and script). Returns the exit code; never throws. */
export async function runProgram(program: Program, argv: readonly string[], io: CliIo): Promise<number> {
  const wantsJson = argv.includes('--json');
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      io.stdout.write(programHelp(program));
      return argv.length === 0 ? ExitCode.USAGE : ExitCode.OK;
    }
    if (argv[0] === '--version' || argv[0] === '-V') {
      io.stdout.write(`${program.version}\n`);
      return ExitCode.OK;
    }
    const { command, rest, prefix } = matchCommand(program, argv);
    if (!command) {
      const isGroup =
        prefix.length > 0 && program.commands.some((c) => c.name.startsWith(`${prefix.join(' ')} `));
      if (isGroup) {
        io.stdout.write(programHelp(program, prefix));
        return rest.includes('--help') || rest.includes('-h') ? ExitCode.OK : ExitCode.USAGE;
      }
      throw new ClawbackError(CoreErrors.USAGE, `unknown command: ${prefix.join(' ') || argv[0]}`, {
        hint: `Run \`${program.name} --help\` for the list of commands.`,
      });
    }
    if (command.passthrough) {
      return (await command.run(new CommandContext(command, [...rest], {}, io))) ?? ExitCode.OK;
    }
    const options = allOptions(command);
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: [...rest],
        options: Object.fromEntries(
          Object.entries(options).map(([k, o]) => [
            k,
            {
              type: o.type,
              ...(o.short ? { short: o.short } : {}),
              ...(o.multiple ? { multiple: true } : {}),
              ...(o.default !== undefined ? { default: o.default } : {}),
            },
          ]),
        ) as Parameters<typeof parseArgs>[0] extends infer C
          ? C extends { options?: infer O }
            ? O
            : never
          : never,
        allowPositionals: true,
        strict: true,
      });
    } catch (cause) {
      throw new ClawbackError(CoreErrors.USAGE, (cause as Error).message, {
        hint: `See \`${program.name} ${command.name} --help\`.`,
      });
    }
    if (parsed.values.help === true) {
      io.stdout.write(commandHelp(program, command));
      return ExitCode.OK;
    }
    const specs = command.args ?? [];
    const required = specs.filter((a) => a.required !== false && !a.variadic).length;
    const variadic = specs.some((a) => a.variadic);
    if (parsed.positionals.length < required) {
      const missing = specs[parsed.positionals.length];
      throw new ClawbackError(CoreErrors.USAGE, `missing argument ${missing?.name ?? ''}`.trim(), {
        hint: `Usage: ${program.name} ${command.name} ${specs.map((a) => a.name).join(' ')}`,
      });
    }
    if (!variadic && parsed.positionals.length > specs.length) {
      throw new ClawbackError(
        CoreErrors.USAGE,
        `unexpected argument ${JSON.stringify(parsed.positionals[specs.length])}`,
        {
          hint: `See \`${program.name} ${command.name} --help\`.`,
        },
      );
    }
    const ctx = new CommandContext(
      command,
      parsed.positionals,
      parsed.values as Record<string, OptionValue>,
      io,
    );
    const code = await command.run(ctx);
    return code ?? ExitCode.OK;
  } catch (err) {
    return reportError(program, err, io, wantsJson);
  }
}

function reportError(program: Program, err: unknown, io: CliIo, json: boolean): number {
  const code = exitCodeFor(err);
  if (err instanceof ClawbackError) {
    const body = err.toJSON();
    if (json) {
      io.stdout.write(`${redact(JSON.stringify({ ok: false, error: body }, null, 2))}\n`);
    }
    io.stderr.write(`${program.name}: error[${err.code}]: ${redact(err.message)}\n`);
    if (err.hint) io.stderr.write(`  hint: ${redact(err.hint)}\n`);
  } else {
    const message = err instanceof Error ? err.message : String(err);
    if (json) {
      io.stdout.write(
        `${JSON.stringify({ ok: false, error: { code: 'INTERNAL', message: redact(message) } }, null, 2)}\n`,
      );
    }
    io.stderr.write(`${program.name}: internal error: ${redact(message)}\n`);
    io.stderr.write('  hint: this is a bug; rerun with CLAWBACK_DEBUG=1 for details and report it.\n');
  }
  if (io.env.CLAWBACK_DEBUG === '1' && err instanceof Error && err.stack) {
    io.stderr.write(`${redact(err.stack)}\n`);
    if (err.cause instanceof Error && err.cause.stack)
      io.stderr.write(`caused by: ${redact(err.cause.stack)}\n`);
  }
  return code;
}

/** Entry point helper for bin scripts. */
export async function main(program: Program): Promise<void> {
  const code = await runProgram(program, process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
  process.exitCode = code;
}
