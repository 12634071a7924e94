/**
 * Where the updater keeps its device session token (protocol "Device sessions") between
 * daemon-invoked runs: in memory, and with a file, on disk (written atomically, mode 0600).
 * The token is a bearer secret for check-ins: it is never logged or put in an error.
 */
import { readFile, rm } from 'node:fs/promises';
import { writeFileAtomic } from '@clawback/core';

export interface StoredSession {
  deviceId: string;
  keyid: string;
  token: string;
  expiresAt: string;
}

/** Renew a session this long before it expires, so a check-in never races the expiry. */
export const SESSION_RENEW_MARGIN_MS = 60_000;

export class SessionStore {
  /** undefined: not read yet; null: none. */
  private cached: StoredSession | null | undefined;

  constructor(private readonly file: string | undefined) {}

  /** The stored token if it belongs to this device and key and is not about to expire. */
  async usable(deviceId: string, keyid: string, now: Date): Promise<string | null> {
    if (this.cached === undefined) this.cached = await this.load();
    const s = this.cached;
    const fresh =
      s !== null &&
      s.deviceId === deviceId &&
      // A session belongs to the key that opened it; after a rotation it is useless.
      s.keyid === keyid &&
      Date.parse(s.expiresAt) - SESSION_RENEW_MARGIN_MS > now.getTime();
    return fresh ? s.token : null;
  }

  async save(s: StoredSession): Promise<void> {
    this.cached = s;
    if (this.file) await writeFileAtomic(this.file, `${JSON.stringify(s)}\n`, { mode: 0o600 });
  }

  async forget(): Promise<void> {
    this.cached = null;
    if (this.file) await rm(this.file, { force: true });
  }

  private async load(): Promise<StoredSession | null> {
    if (!this.file) return null;
    try {
      const v = JSON.parse(await readFile(this.file, 'utf8')) as Partial<StoredSession>;
      return typeof v.token === 'string' &&
        typeof v.keyid === 'string' &&
        typeof v.deviceId === 'string' &&
        typeof v.expiresAt === 'string'
        ? (v as StoredSession)
        : null;
    } catch {
      // Missing or unreadable: a new session is one signed request away.
      return null;
    }
  }
}
