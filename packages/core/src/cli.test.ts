import { describe, expect, it } from 'vitest';
import { type CliIo, type CommandSpec, type Program, runProgram } from './cli.js';
import { ClawbackError, CoreErrors } from './errors.js';

function io(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: {},
    cwd: '/',
    out: () => out,
    err: () => err,
  };
}

const echo: CommandSpec = {
  name: 'thing echo',
  summary: 'echo a value',
  args: [{ name: 'VALUE', description: 'what to echo' }],
  options: { times: { type: 'string', description: 'repeat', valueName: 'N' } },
  async run(ctx) {
    const n = ctx.integer('times', { min: 1, max: 3 }) ?? 1;
    ctx.result({ value: ctx.requireArg(0), n }, Array(n).fill(ctx.requireArg(0)).join(' '));
    return 0;
  },
};
const fail: CommandSpec = {
  name: 'thing fail',
  summary: 'always fails',
  async run() {
    throw new ClawbackError(
      CoreErrors.SIGNATURE_INVALID,
      'bad signature ghp_abcdefghijklmnopqrstuvwxyz0123',
      {
        hint: 'try again',
      },
    );
  },
};
const crash: CommandSpec = {
  name: 'crash',
  summary: 'a bug',
  async run() {
    throw new TypeError('oops');
  },
};
const inner: Program = { name: 'tool sub', version: '1.2.3', summary: 'inner', commands: [echo] };
const sub: CommandSpec = {
  name: 'sub',
  summary: 'delegates to another program',
  passthrough: true,
  async run(ctx) {
    return runProgram(inner, ctx.args, ctx.io);
  },
};
const program: Program = {
  name: 'tool',
  version: '1.2.3',
  summary: 'test tool',
  commands: [echo, fail, crash, sub],
};

describe('runProgram', () => {
  it('runs a command with human and JSON output', async () => {
    const a = io();
    expect(await runProgram(program, ['thing', 'echo', 'hi', '--times', '2'], a)).toBe(0);
    expect(a.out()).toBe('hi hi\n');
    const b = io();
    expect(await runProgram(program, ['thing', 'echo', 'hi', '--json'], b)).toBe(0);
    expect(JSON.parse(b.out())).toEqual({ value: 'hi', n: 1 });
  });
  it('prints help for programs, groups and commands', async () => {
    const a = io();
    expect(await runProgram(program, ['--help'], a)).toBe(0);
    expect(a.out()).toContain('thing echo');
    const b = io();
    expect(await runProgram(program, ['thing', 'echo', '--help'], b)).toBe(0);
    expect(b.out()).toMatch(/Usage: tool thing echo VALUE \[options\]/);
    expect(b.out()).toMatch(/Exit codes:/);
    const c = io();
    expect(await runProgram(program, ['thing'], c)).toBe(2);
    expect(c.out()).toContain('thing fail');
  });
  it('passes arguments through, unparsed, to a delegating command', async () => {
    const a = io();
    expect(await runProgram(program, ['sub', 'thing', 'echo', 'x', '--times', '2', '--json'], a)).toBe(0);
    expect(JSON.parse(a.out())).toEqual({ value: 'x', n: 2 });
    const b = io();
    expect(await runProgram(program, ['sub', '--help'], b)).toBe(0);
    expect(b.out()).toContain('tool sub');
  });

  it('maps usage errors, coded errors and bugs to exit codes without stack traces', async () => {
    const a = io();
    expect(await runProgram(program, ['thing', 'echo'], a)).toBe(2);
    expect(a.err()).toMatch(/missing argument VALUE/);
    const b = io();
    expect(await runProgram(program, ['thing', 'echo', 'x', '--times', '9'], b)).toBe(2);
    const c = io();
    expect(await runProgram(program, ['thing', 'echo', 'x', '--nope'], c)).toBe(2);
    const d = io();
    expect(await runProgram(program, ['thing', 'fail', '--json'], d)).toBe(1);
    expect(JSON.parse(d.out()).error.code).toBe('SIGNATURE_INVALID');
    expect(d.err()).toMatch(/error\[SIGNATURE_INVALID\]/);
    expect(d.err() + d.out()).not.toContain('ghp_');
    const e = io();
    expect(await runProgram(program, ['crash'], e)).toBe(70);
    expect(e.err()).not.toMatch(/at .*cli/);
    const f = io();
    expect(await runProgram(program, ['bogus'], f)).toBe(2);
  });
});
