#!/usr/bin/env node
/**
 * `clawback-tuf-conformance`: the client protocol of the public TUF conformance suite
 * (theupdateframework/tuf-conformance), driving the same client devices use
 * (docs/tuf-conformance.md). Exit 0 on success, 1 on any failure.
 *
 *   --metadata-dir D init ROOT
 *   --metadata-dir D --metadata-url U refresh
 *   --metadata-dir D --metadata-url U --target-name N --target-base-url U --target-dir T download
 */
import { realpathSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ClawbackError, CoreErrors, redact, writeFileAtomic } from '@clawback/core';
import { Metadata, MetadataKind } from '@tufjs/models';
import { createTufClient } from './client.js';
import { TufClientErrors } from './errors.js';

const USAGE = `usage:
  clawback-tuf-conformance --metadata-dir D init ROOT
  clawback-tuf-conformance --metadata-dir D --metadata-url U refresh
  clawback-tuf-conformance --metadata-dir D --metadata-url U --target-name N --target-base-url U --target-dir T download
exit codes: 0 success, 1 failure`;

export interface ConformanceIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
  now?: () => Date;
}

/** Run one protocol command; returns the exit code (0 or 1). */
export async function runConformance(argv: readonly string[], io: ConformanceIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'metadata-dir': { type: 'string' },
        'metadata-url': { type: 'string' },
        'target-name': { type: 'string' },
        'target-base-url': { type: 'string' },
        'target-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const need = (name: keyof typeof values): string => {
      const v = values[name];
      if (typeof v !== 'string' || v === '')
        throw new ClawbackError(CoreErrors.USAGE, `--${name} is required`, { hint: USAGE });
      return v;
    };
    const metadataDir = need('metadata-dir');
    const [command, arg] = positionals;
    if (command === 'init') {
      if (!arg)
        throw new ClawbackError(CoreErrors.USAGE, 'init needs the trusted root file', { hint: USAGE });
      const bytes = await readFile(arg);
      try {
        Metadata.fromJSON(MetadataKind.Root, JSON.parse(bytes.toString('utf8')));
      } catch (cause) {
        throw new ClawbackError(TufClientErrors.TUF_TRUSTED_ROOT_INVALID, `${arg} is not TUF root metadata`, {
          cause,
        });
      }
      await mkdir(metadataDir, { recursive: true });
      await writeFileAtomic(join(metadataDir, 'root.json'), bytes);
      return 0;
    }
    if (command !== 'refresh' && command !== 'download') {
      throw new ClawbackError(CoreErrors.USAGE, `unknown command ${JSON.stringify(command ?? '')}`, {
        hint: USAGE,
      });
    }
    const isDownload = command === 'download';
    const client = createTufClient({
      metadataDir,
      metadataBaseUrl: need('metadata-url'),
      targetBaseUrl: isDownload ? need('target-base-url') : need('metadata-url'),
      ...(io.now ? { now: io.now } : {}),
      fetcher: { retries: 1 },
    });
    await client.refresh();
    if (isDownload) {
      const name = need('target-name');
      const dir = need('target-dir');
      await client.downloadTarget(name, join(dir, encodeURIComponent(name)));
    }
    return 0;
  } catch (err) {
    const code = err instanceof ClawbackError ? err.code : 'ERROR';
    io.stderr.write(`clawback-tuf-conformance: ${code}: ${redact((err as Error).message)}\n`);
    return 1;
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    // npm links bins as symlinks; compare real paths.
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

const isMain = invokedDirectly();
if (isMain) {
  runConformance(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }).then((code) => {
    process.exitCode = code;
  });
}
