/**
 * Input validation for untrusted JSON bodies. Every bad field is reported at once with its path
 * (house style 5), and nothing is written before validation has passed.
 */
import { badRequest } from './errors.js';

export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

interface StrOpts {
  optional?: boolean;
  pattern?: RegExp;
  max?: number;
  oneOf?: readonly string[];
}

export class Fields {
  readonly problems: string[];
  private readonly obj: Record<string, unknown>;
  private readonly prefix: string;

  constructor(value: unknown, prefix = '', problems: string[] = []) {
    this.problems = problems;
    this.prefix = prefix;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.problems.push(`${prefix || 'body'}: must be a JSON object`);
      this.obj = {};
    } else {
      this.obj = value as Record<string, unknown>;
    }
  }

  private path(key: string): string {
    return this.prefix ? `${this.prefix}.${key}` : key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  str(key: string, opts: StrOpts & { optional: true }): string | undefined;
  str(key: string, opts?: StrOpts): string;
  str(key: string, opts: StrOpts = {}): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (!opts.optional) this.problems.push(`${this.path(key)}: is required`);
      return undefined;
    }
    if (typeof v !== 'string' || v === '') {
      this.problems.push(`${this.path(key)}: must be a non-empty string`);
      return '';
    }
    if (v.length > (opts.max ?? 256))
      this.problems.push(`${this.path(key)}: longer than ${opts.max ?? 256} characters`);
    else if (opts.pattern && !opts.pattern.test(v))
      this.problems.push(`${this.path(key)}: must match ${opts.pattern}`);
    else if (opts.oneOf && !opts.oneOf.includes(v))
      this.problems.push(`${this.path(key)}: must be one of ${opts.oneOf.join(', ')}`);
    return v;
  }

  num(
    key: string,
    opts: { optional?: boolean; min?: number; max?: number; integer?: boolean } = {},
  ): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (!opts.optional) this.problems.push(`${this.path(key)}: is required`);
      return undefined;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || (opts.integer && !Number.isInteger(v))) {
      this.problems.push(`${this.path(key)}: must be a${opts.integer ? ' whole' : ''} number`);
      return undefined;
    }
    if ((opts.min !== undefined && v < opts.min) || (opts.max !== undefined && v > opts.max)) {
      this.problems.push(`${this.path(key)}: must be in ${opts.min ?? '-∞'}..${opts.max ?? '∞'}`);
    }
    return v;
  }

  strArray(key: string, opts: { optional?: boolean; pattern?: RegExp; max?: number } = {}): string[] {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (!opts.optional) this.problems.push(`${this.path(key)}: is required`);
      return [];
    }
    if (!Array.isArray(v)) {
      this.problems.push(`${this.path(key)}: must be an array of strings`);
      return [];
    }
    if (v.length > (opts.max ?? 64))
      this.problems.push(`${this.path(key)}: more than ${opts.max ?? 64} items`);
    v.forEach((x, i) => {
      if (typeof x !== 'string' || x === '' || x.length > 128 || (opts.pattern && !opts.pattern.test(x)))
        this.problems.push(
          `${this.path(key)}[${i}]: must be a non-empty string${opts.pattern ? ` matching ${opts.pattern}` : ''}`,
        );
    });
    return v.filter((x): x is string => typeof x === 'string');
  }

  sub(key: string, optional = false): Fields | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (!optional) this.problems.push(`${this.path(key)}: is required`);
      return undefined;
    }
    return new Fields(v, this.path(key), this.problems);
  }

  /** Throw one 400 naming every problem, or return when there are none. */
  done(what: string): void {
    if (this.problems.length > 0) {
      throw badRequest(
        `${what} is invalid: ${this.problems.join('; ')}`,
        'Fix the listed fields and resend; nothing was stored.',
        this.problems,
      );
    }
  }
}
