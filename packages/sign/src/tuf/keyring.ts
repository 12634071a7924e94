/**
 * Where signing keys come from. Private keys are found by key id, never by role:
 * every `*.key` file in the keys directory plus any `--key` reference (a path or
 * `env:VAR`) is loaded, and each role signs with the loaded keys it lists. Offline
 * root keys are therefore simply absent on the machine that runs `repo refresh`.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ClawbackError,
  loadPublicKey,
  loadSigner,
  type PublicKey,
  parsePrivateKey,
  type Signer,
  signerFromKeyPair,
} from '@clawback/core';
import { TufRepoErrors } from './errors.js';

export interface KeySources {
  /** Directory scanned for `*.key` private key files (optional). */
  keysDir?: string;
  /** Extra private keys: file paths or `env:VAR`. */
  keyRefs?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export class Keyring {
  private readonly signers = new Map<string, Signer>();

  add(signer: Signer): void {
    this.signers.set(signer.keyid, signer);
  }

  has(keyid: string): boolean {
    return this.signers.has(keyid);
  }

  get(keyid: string): Signer | undefined {
    return this.signers.get(keyid);
  }

  /** The loaded signers among `keyids`, in the given order. */
  pick(keyids: readonly string[]): Signer[] {
    return keyids.flatMap((id) => {
      const s = this.signers.get(id);
      return s ? [s] : [];
    });
  }

  static async load(sources: KeySources): Promise<Keyring> {
    const ring = new Keyring();
    const env = sources.env ?? process.env;
    if (sources.keysDir !== undefined) {
      let names: string[] = [];
      try {
        names = (await readdir(sources.keysDir)).filter((n) => n.endsWith('.key')).sort();
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw dirError(sources.keysDir, cause);
      }
      for (const name of names) {
        const path = join(sources.keysDir, name);
        const text = await readFile(path, 'utf8').catch((cause: unknown) => {
          throw new ClawbackError(TufRepoErrors.TUF_KEY_MISSING, `cannot read private key ${path}`, {
            cause,
            hint: 'Check the file permissions (the key files should be readable by this user only).',
          });
        });
        ring.add(signerFromKeyPair(parsePrivateKey(text, path)));
      }
    }
    for (const ref of sources.keyRefs ?? []) ring.add(await loadSigner(ref, env));
    return ring;
  }
}

function dirError(dir: string, cause: unknown): ClawbackError {
  return new ClawbackError(TufRepoErrors.TUF_KEY_MISSING, `cannot read keys directory ${dir}`, {
    cause,
    hint: 'Check the path and its permissions.',
  });
}

/** Load the public key `<dir>/<name>.pub`. */
export async function loadNamedPublicKey(dir: string, name: string): Promise<PublicKey> {
  const path = join(dir, `${name}.pub`);
  try {
    return await loadPublicKey(path);
  } catch (cause) {
    throw new ClawbackError(
      TufRepoErrors.TUF_KEY_MISSING,
      `public key ${name} not found or unreadable: ${path}`,
      {
        cause,
        hint: `Generate it during the key ceremony (\`clawback keys generate --out ${dir}/${name}\`) or fix repo.yaml.`,
      },
    );
  }
}
