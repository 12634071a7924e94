// Device-side helpers for the session protocol (docs/protocol.md "Device sessions"), built from
// the console's exported protocol functions so tests sign exactly what the console checks.
import { randomBytes } from 'node:crypto';
import { SESSION_NONCE_BYTES, signDeviceRequest } from '@clawback/console';
import { type Signer, sha256Hex } from '@clawback/core';
import type { SimDevice } from '@clawback/testing';

export interface SignedSessionRequest {
  path: string;
  body: string;
  authorization: string;
}

export async function sessionRequest(
  d: SimDevice,
  now: () => Date,
  o: { ts?: string; signer?: Signer; nonce?: string } = {},
): Promise<SignedSessionRequest> {
  const path = `/api/v1/devices/${encodeURIComponent(d.id)}/session`;
  const body = JSON.stringify({ nonce: o.nonce ?? randomBytes(SESSION_NONCE_BYTES).toString('hex') });
  const authorization = await signDeviceRequest(o.signer ?? d.signer, d.id, {
    method: 'POST',
    path,
    ts: o.ts ?? now().toISOString(),
    bodySha256: sha256Hex(body),
  });
  return { path, body, authorization };
}

export async function postSession(
  base: string,
  req: SignedSessionRequest,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base}${req.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: req.authorization },
    body: req.body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Open a session; returns the token. */
export async function openSession(base: string, d: SimDevice, now: () => Date): Promise<string> {
  const r = await postSession(base, await sessionRequest(d, now));
  if (r.status !== 201) throw new Error(`session: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token as string;
}

export async function bearerCheckin(
  base: string,
  deviceId: string,
  token: string,
  etag?: string,
): Promise<{ status: number; etag: string | null; body: unknown }> {
  const res = await fetch(`${base}/api/v1/devices/${encodeURIComponent(deviceId)}/desired`, {
    headers: { authorization: `Bearer ${token}`, ...(etag ? { 'if-none-match': etag } : {}) },
  });
  const text = await res.text();
  return { status: res.status, etag: res.headers.get('etag'), body: text ? JSON.parse(text) : null };
}

export const errCode = (b: unknown) => (b as { error?: { code?: string } }).error?.code;
