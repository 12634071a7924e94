/**
 * The console's pinned TUF root. Releases are registered from targets metadata that must be
 * signed by the targets role this root names, so the console can only ever point devices at
 * targets the image repository signed (design §4, "console as director").
 */
import {
  ClawbackError,
  canonicalJson,
  fromHex,
  makePublicKey,
  type PublicKey,
  utf8,
  verifyEd25519,
} from '@clawback/core';
import { appendAudit, lockAuditChain } from './audit.js';
import type { ConsoleContext } from './context.js';
import { ConsoleErrors } from './errors.js';

interface Signed {
  signed: Record<string, unknown>;
  signatures: { keyid: string; sig: string }[];
}

interface Role {
  keyids: string[];
  threshold: number;
}

function untrusted(message: string, hint: string): ClawbackError {
  return new ClawbackError(ConsoleErrors.RELEASE_TUF_UNTRUSTED, message, { hint });
}

export function asSigned(value: unknown, what: string): Signed {
  const v = value as Partial<Signed> | null;
  if (
    typeof v !== 'object' ||
    v === null ||
    typeof v.signed !== 'object' ||
    v.signed === null ||
    !Array.isArray(v.signatures) ||
    !v.signatures.every((s) => typeof s?.keyid === 'string' && typeof s?.sig === 'string')
  ) {
    throw new ClawbackError(
      ConsoleErrors.RELEASE_INVALID,
      `${what} is not TUF signed metadata ({signed, signatures})`,
      {
        hint: `Send the repository's ${what} file unchanged.`,
      },
    );
  }
  return v as Signed;
}

function roleOf(root: Signed, name: string): { role: Role; keys: Map<string, PublicKey> } {
  const roles = root.signed.roles as Record<string, Role> | undefined;
  const keys = root.signed.keys as
    | Record<string, { keytype?: string; keyval?: { public?: string } }>
    | undefined;
  const role = roles?.[name];
  if (!role || !Array.isArray(role.keyids) || !Number.isInteger(role.threshold) || role.threshold < 1) {
    throw untrusted(`root metadata has no valid ${name} role`, 'Pin a root made by `clawback repo init`.');
  }
  const out = new Map<string, PublicKey>();
  for (const id of role.keyids) {
    const k = keys?.[id];
    const bytes = k?.keytype === 'ed25519' && k.keyval?.public ? fromHex(k.keyval.public) : undefined;
    if (bytes?.length === 32) out.set(id, makePublicKey(bytes));
  }
  return { role, keys: out };
}

/** TUF 5.3.x / 5.5.x signature rule: a threshold of the role's distinct keys over canonical `signed`. */
export function verifyRoleSignatures(metadata: Signed, root: Signed, roleName: string, what: string): void {
  const { role, keys } = roleOf(root, roleName);
  const message = utf8(canonicalJson(metadata.signed));
  const valid = new Set<string>();
  for (const s of metadata.signatures) {
    const key = keys.get(s.keyid);
    const sig = fromHex(s.sig);
    if (key && sig && !valid.has(s.keyid) && verifyEd25519(key, message, sig)) valid.add(s.keyid);
  }
  if (valid.size < role.threshold) {
    throw untrusted(
      `${what}: ${valid.size} valid ${roleName} signature(s), threshold ${role.threshold}`,
      'The metadata was not signed by the pinned repository keys, or was modified after signing.',
    );
  }
}

export async function pinnedRoot(ctx: ConsoleContext): Promise<Signed | undefined> {
  const rows = await ctx.db.query<{ root: Signed }>('SELECT root FROM tuf_trust WHERE id = 1');
  return rows[0]?.root;
}

/**
 * Pin the first root (trust on first use by an admin, like provisioning a device), or rotate to
 * the next one: TUF 5.3.4 it must be signed by a threshold of the trusted root's root keys and
 * 5.3.5 by a threshold of its own; 5.3.5 its version must be exactly the trusted version + 1.
 */
export async function pinRoot(
  ctx: ConsoleContext,
  body: unknown,
  actor: string,
): Promise<{ version: number }> {
  const next = asSigned(body, 'root.json');
  if (next.signed._type !== 'root') throw untrusted('the metadata is not a root', 'Send root.json.');
  verifyRoleSignatures(next, next, 'root', 'new root (self-signature)');
  const version = Number(next.signed.version);
  const now = ctx.now();
  await ctx.db.transaction(async (tx) => {
    await lockAuditChain(tx);
    const cur = (await tx.query<{ root: Signed }>('SELECT root FROM tuf_trust WHERE id = 1 FOR UPDATE'))[0]
      ?.root;
    if (cur) {
      verifyRoleSignatures(next, cur, 'root', 'new root (signed by the trusted root)');
      if (version !== Number(cur.signed.version) + 1) {
        throw untrusted(
          `root version ${version} is not the trusted version ${String(cur.signed.version)} + 1`,
          'Pin each rotated root in order.',
        );
      }
    }
    await tx.query(
      'INSERT INTO tuf_trust (id, root, updated_at) VALUES (1, $1::jsonb, $2) ON CONFLICT (id) DO UPDATE SET root = EXCLUDED.root, updated_at = EXCLUDED.updated_at',
      [JSON.stringify(next), now],
    );
    await appendAudit(tx, now, cur ? 'tuf.root-rotated' : 'tuf.root-pinned', { version }, actor);
  });
  return { version };
}
