import { mkdir, open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ClawbackError,
  CoreErrors,
  encodePrivateKeyFile,
  encodePublicKeyFile,
  fsyncDir,
  generateKeyPair,
  type KeyPair,
} from '@clawback/core';
import { ReleaseErrors } from './errors.js';

export interface GenerateKeyFilesOptions {
  outDir: string;
  name: string;
  /** Injectable randomness for deterministic tests. */
  random?: (n: number) => Uint8Array;
}

export interface GeneratedKeyFiles {
  keyid: string;
  privateKeyPath: string;
  publicKeyPath: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Write a fresh Ed25519 key pair as OUT/NAME.key (mode 0600) and OUT/NAME.pub.
 * Never overwrites: an existing key may be the only copy of a signing key.
 */
export async function generateKeyFiles(options: GenerateKeyFilesOptions): Promise<GeneratedKeyFiles> {
  if (!NAME.test(options.name)) {
    throw new ClawbackError(
      CoreErrors.USAGE,
      `key name ${JSON.stringify(options.name)} must be letters, digits, ".", "_" or "-"`,
    );
  }
  const privateKeyPath = join(options.outDir, `${options.name}.key`);
  const publicKeyPath = join(options.outDir, `${options.name}.pub`);
  for (const p of [privateKeyPath, publicKeyPath]) {
    if (
      await stat(p).then(
        () => true,
        () => false,
      )
    ) {
      throw new ClawbackError(
        ReleaseErrors.KEY_FILE_EXISTS,
        `${p} already exists; refusing to overwrite a key`,
        {
          hint: 'Choose another --name or --out directory.',
        },
      );
    }
  }
  const pair: KeyPair = generateKeyPair(options.random);
  await mkdir(options.outDir, { recursive: true, mode: 0o700 });
  await writeExclusive(privateKeyPath, encodePrivateKeyFile(pair), 0o600);
  await writeExclusive(publicKeyPath, encodePublicKeyFile(pair.publicKey), 0o644);
  await fsyncDir(options.outDir);
  return { keyid: pair.publicKey.keyid, privateKeyPath, publicKeyPath };
}

/** O_EXCL create: fails instead of replacing a file that appeared since the check. */
async function writeExclusive(path: string, text: string, mode: number): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(path, 'wx', mode);
    await fh.writeFile(text);
    await fh.chmod(mode);
    await fh.sync();
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new ClawbackError(
        ReleaseErrors.KEY_FILE_EXISTS,
        `${path} already exists; refusing to overwrite a key`,
      );
    }
    throw new ClawbackError(
      CoreErrors.FILE_WRITE_FAILED,
      `could not write ${path}: ${(cause as Error).message}`,
      { cause },
    );
  } finally {
    await fh?.close();
  }
}
