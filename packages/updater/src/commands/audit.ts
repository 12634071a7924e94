/** `audit verify` and `audit export --since`: the device's hash-chained log (design §10). */
import {
  type AuditEntry,
  type AuditVerifyReport,
  parseAuditEntries,
  readAuditLog,
  verifyAuditLog,
} from '@clawback/core';
import type { Device } from '../device.js';

export async function auditVerify(device: Device): Promise<AuditVerifyReport> {
  // Checkpoints are signed with the device key, so only that key may anchor the head.
  return verifyAuditLog(device.layout.auditLog, { trustedKeys: [device.signer.publicKey] });
}

export async function auditExport(device: Device, since: Date): Promise<AuditEntry[]> {
  const { files } = await readAuditLog(device.layout.auditLog);
  return parseAuditEntries(files).filter((e) => Date.parse(e.ts) >= since.getTime());
}
