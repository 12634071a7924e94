/**
 * Device ↔ console protocol constants and the signed request header (docs/protocol.md).
 * Exported so device-side code and tests build exactly what the console checks.
 */
import { canonicalJson, pae, type Signer, toBase64, utf8 } from '@clawback/core';

export const REQUEST_PAYLOAD_TYPE = 'application/vnd.clawback.request+json';
export const REPORT_PAYLOAD_TYPE = 'application/vnd.clawback.report+json';
export const HEARTBEAT_PAYLOAD_TYPE = 'application/vnd.clawback.heartbeat+json';
export const KEY_ROTATION_PAYLOAD_TYPE = 'application/vnd.clawback.key-rotation+json';
export const REPORT_SCHEMA = 'https://clawback.dev/report/v1';
/** Protocol: a signed request's ts may be at most this far from the console's clock. */
export const REQUEST_MAX_SKEW_SECS = 300;
/** Protocol: a device session request carries this many random bytes of nonce (hex). */
export const SESSION_NONCE_BYTES = 16;
/** Protocol: every body is at most 256 KiB. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface DeviceRequestFields {
  method: string;
  path: string;
  ts: string;
  /** Hex SHA-256 of the request body, or '' when there is none. */
  bodySha256: string;
}

/** The exact bytes a device signs for a header-authenticated request. */
export function deviceRequestMessage(fields: DeviceRequestFields): Uint8Array {
  const body = canonicalJson({
    method: fields.method,
    path: fields.path,
    ts: fields.ts,
    bodySha256: fields.bodySha256,
  });
  return pae(REQUEST_PAYLOAD_TYPE, utf8(body));
}

/** Build the `Authorization: Clawback-Device …` header value for a request. */
export async function signDeviceRequest(
  signer: Signer,
  deviceId: string,
  fields: DeviceRequestFields,
): Promise<string> {
  const sig = toBase64(await signer.sign(deviceRequestMessage(fields)));
  return `Clawback-Device id="${deviceId}", keyid="${signer.keyid}", ts="${fields.ts}", sig="${sig}"`;
}

export interface DeviceAuthHeader {
  id: string;
  keyid: string;
  ts: string;
  sig: string;
}

const PARAM = /([a-z]+)="([^"]*)"/g;

/** Parse the header; undefined when it is not a well-formed Clawback-Device header. */
export function parseDeviceAuthHeader(value: string | undefined): DeviceAuthHeader | undefined {
  if (!value?.startsWith('Clawback-Device ')) return undefined;
  const params = new Map<string, string>();
  for (const m of value.slice('Clawback-Device '.length).matchAll(PARAM)) {
    if (m[1] !== undefined && m[2] !== undefined) params.set(m[1], m[2]);
  }
  const id = params.get('id');
  const keyid = params.get('keyid');
  const ts = params.get('ts');
  const sig = params.get('sig');
  if (!id || !keyid || !ts || !sig) return undefined;
  return { id, keyid, ts, sig };
}
