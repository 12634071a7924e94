/**
 * Operator authentication: API tokens with roles, stored only as SHA-256 hashes (a token is 32
 * random bytes, so a fast hash is enough: there is nothing to brute-force), compared in
 * constant time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { ClawbackError, sha256Hex } from '@clawback/core';
import { appendAudit, lockAuditChain } from './audit.js';
import { ConsoleErrors } from './errors.js';
import type { Db, Queryable } from './storage/db.js';

export const ROLES = ['viewer', 'release-manager', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface Principal {
  name: string;
  role: Role;
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** A fresh high-entropy secret: `prefix_` + 32 random bytes, base64url. */
export function newSecret(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function secretHash(secret: string): string {
  return sha256Hex(secret);
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

export async function createApiToken(
  db: Db,
  input: { name: string; role: string; now: Date; actor: string },
): Promise<{ token: string; name: string; role: Role }> {
  if (!isRole(input.role)) {
    throw new ClawbackError(ConsoleErrors.TOKEN_ROLE_INVALID, `unknown role ${JSON.stringify(input.role)}`, {
      hint: `Use one of: ${ROLES.join(', ')}.`,
    });
  }
  const role = input.role;
  const token = newSecret('cbt');
  await db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const existing = await tx.query('SELECT 1 FROM api_tokens WHERE name = $1', [input.name]);
    if (existing.length > 0) {
      throw new ClawbackError(
        ConsoleErrors.CONSOLE_BAD_REQUEST,
        `a token named ${input.name} already exists`,
        {
          hint: 'Pick another name, or revoke the old token first.',
        },
      );
    }
    await tx.query('INSERT INTO api_tokens (hash, name, role, created_at) VALUES ($1, $2, $3, $4)', [
      secretHash(token),
      input.name,
      role,
      input.now,
    ]);
    await appendAudit(tx, input.now, 'console.token.created', { name: input.name, role }, input.actor);
  });
  return { token, name: input.name, role };
}

/** Install a known token (e.g. CLAWBACK_CONSOLE_ADMIN_TOKEN at start-up); idempotent. */
export async function ensureApiToken(
  db: Db,
  token: string,
  name: string,
  role: Role,
  now: Date,
): Promise<void> {
  const hash = secretHash(token);
  await db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const rows = await tx.query<{ hash: string }>('SELECT hash FROM api_tokens WHERE name = $1', [name]);
    if (rows[0]?.hash === hash) return;
    await tx.query('DELETE FROM api_tokens WHERE name = $1', [name]);
    await tx.query('INSERT INTO api_tokens (hash, name, role, created_at) VALUES ($1, $2, $3, $4)', [
      hash,
      name,
      role,
      now,
    ]);
    await appendAudit(tx, now, 'console.token.installed', { name, role }, 'console');
  });
}

export async function revokeApiToken(db: Db, name: string, now: Date, actor: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const rows = await tx.query(
      'UPDATE api_tokens SET revoked = true WHERE name = $1 AND NOT revoked RETURNING name',
      [name],
    );
    if (rows.length === 0) return false;
    await appendAudit(tx, now, 'console.token.revoked', { name }, actor);
    return true;
  });
}

export async function authenticateToken(db: Queryable, token: string): Promise<Principal | undefined> {
  const hash = secretHash(token);
  const rows = await db.query<{ hash: string; name: string; role: string; revoked: boolean }>(
    'SELECT hash, name, role, revoked FROM api_tokens WHERE hash = $1',
    [hash],
  );
  const row = rows[0];
  if (!row || row.revoked || !hashesEqual(row.hash, hash) || !isRole(row.role)) return undefined;
  return { name: row.name, role: row.role };
}

export function requireRole(principal: Principal | undefined, need: Role): Principal {
  if (!principal) {
    throw new ClawbackError(ConsoleErrors.CONSOLE_UNAUTHENTICATED, 'this endpoint needs an API token', {
      hint: 'Send `Authorization: Bearer <token>`; create one with `clawback-console token create`.',
    });
  }
  if (!roleAtLeast(principal.role, need)) {
    throw new ClawbackError(
      ConsoleErrors.CONSOLE_FORBIDDEN,
      `token ${principal.name} has role ${principal.role}; this needs ${need}`,
      { hint: `Use a token with role ${need} or higher.` },
    );
  }
  return principal;
}

export async function createEnrollmentToken(
  db: Db,
  input: { name: string; maxUses: number | null; expiresInSecs: number | null; now: Date; actor: string },
): Promise<{ token: string; name: string; maxUses: number | null; expiresAt: string | null }> {
  const token = newSecret('cbe');
  const expiresAt =
    input.expiresInSecs === null ? null : new Date(input.now.getTime() + input.expiresInSecs * 1000);
  await db.transaction(async (tx) => {
    await lockAuditChain(tx);
    await tx.query(
      'INSERT INTO enrollment_tokens (hash, name, created_at, expires_at, max_uses) VALUES ($1, $2, $3, $4, $5)',
      [secretHash(token), input.name, input.now, expiresAt, input.maxUses],
    );
    await appendAudit(
      tx,
      input.now,
      'enrollment-token.created',
      { name: input.name, maxUses: input.maxUses, expiresAt: expiresAt?.toISOString() ?? null },
      input.actor,
    );
  });
  return { token, name: input.name, maxUses: input.maxUses, expiresAt: expiresAt?.toISOString() ?? null };
}

/**
 * Revoke every enrollment token with this name. Devices already enrolled with it stay enrolled
 * (enrollment is a one-time proof); nobody can enroll with it any more.
 */
export async function revokeEnrollmentTokens(
  db: Db,
  name: string,
  now: Date,
  actor: string,
): Promise<number> {
  return db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const rows = await tx.query(
      'UPDATE enrollment_tokens SET revoked = true WHERE name = $1 AND NOT revoked RETURNING name',
      [name],
    );
    if (rows.length > 0) {
      await appendAudit(tx, now, 'enrollment-token.revoked', { name, tokens: rows.length }, actor);
    }
    return rows.length;
  });
}

export interface ApiTokenInfo {
  name: string;
  role: string;
  createdAt: string;
  revoked: boolean;
}

/** API tokens by name and role (never the secret; only its hash is stored anyway). */
export async function listApiTokens(db: Queryable): Promise<ApiTokenInfo[]> {
  const rows = await db.query<{ name: string; role: string; created_at: Date; revoked: boolean }>(
    'SELECT name, role, created_at, revoked FROM api_tokens ORDER BY name',
  );
  return rows.map((r) => ({
    name: r.name,
    role: r.role,
    createdAt: new Date(r.created_at).toISOString(),
    revoked: r.revoked,
  }));
}

export interface EnrollmentTokenInfo {
  name: string;
  createdAt: string;
  expiresAt: string | null;
  maxUses: number | null;
  uses: number;
  revoked: boolean;
}

export async function listEnrollmentTokens(db: Queryable): Promise<EnrollmentTokenInfo[]> {
  const rows = await db.query<{
    name: string;
    created_at: Date;
    expires_at: Date | null;
    max_uses: number | null;
    uses: number;
    revoked: boolean;
  }>(
    'SELECT name, created_at, expires_at, max_uses, uses, revoked FROM enrollment_tokens ORDER BY created_at',
  );
  return rows.map((r) => ({
    name: r.name,
    createdAt: new Date(r.created_at).toISOString(),
    expiresAt: r.expires_at ? new Date(r.expires_at).toISOString() : null,
    maxUses: r.max_uses === null ? null : Number(r.max_uses),
    uses: Number(r.uses),
    revoked: r.revoked,
  }));
}
