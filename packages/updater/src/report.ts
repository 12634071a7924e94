/**
 * Reports (docs/protocol.md "Reports"): a payload built purely from the transaction,
 * signed as DSSE with the device key. `reportId` is fixed when the transaction starts, so
 * however many times a crash makes the step run again, one report exists.
 */
import { canonicalJsonBytes, type DsseEnvelope, isoSeconds, type Signer, signDsse } from '@clawback/core';
import type { HealthResult, ReportOutcome, ReportStage, Transaction } from './state.js';

export const REPORT_SCHEMA = 'https://clawback.dev/report/v1';
export const REPORT_PAYLOAD_TYPE = 'application/vnd.clawback.report+json';
export const HEARTBEAT_PAYLOAD_TYPE = 'application/vnd.clawback.heartbeat+json';
export const REQUEST_PAYLOAD_TYPE = 'application/vnd.clawback.request+json';

export interface ReportPayload {
  schema: typeof REPORT_SCHEMA;
  reportId: string;
  deviceId: string;
  createdAt: string;
  agent: string;
  from: { version: string; digest: string } | null;
  to: { version: string; digest: string; targetPath: string };
  outcome: ReportOutcome;
  stage: ReportStage;
  reasonCode: string | null;
  reason: string | null;
  health: HealthResult[];
  timings: { downloadMs?: number; verifyMs?: number; probationMs?: number; totalMs?: number };
  rolloutId: string | null;
  policyHash: string | null;
  auditHead: { seq: number; hash: string } | null;
  updaterVersion: string;
}

export interface BuildReportInput {
  txn: Transaction;
  outcome: ReportOutcome;
  deviceId: string;
  now: Date;
  auditHead: { seq: number; hash: string } | null;
  policyHash: string | null;
  updaterVersion: string;
}

function stageFor(txn: Transaction, outcome: ReportOutcome): ReportStage {
  if (outcome === 'committed') return 'commit';
  return txn.failure?.stage ?? 'rollback';
}

export function buildReport(input: BuildReportInput): ReportPayload {
  const { txn, outcome } = input;
  return {
    schema: REPORT_SCHEMA,
    reportId: txn.reportId,
    deviceId: input.deviceId,
    createdAt: isoSeconds(input.now),
    agent: txn.target.agent,
    from: txn.from ? { version: txn.from.version, digest: txn.from.digest } : null,
    to: { version: txn.target.version, digest: txn.target.sha256, targetPath: txn.target.targetPath },
    outcome,
    stage: stageFor(txn, outcome),
    reasonCode: outcome === 'committed' ? null : (txn.failure?.code ?? null),
    reason: outcome === 'committed' ? null : (txn.failure?.message ?? null),
    health: txn.health,
    timings: txn.timings,
    rolloutId: txn.target.rolloutId ?? null,
    policyHash: input.policyHash,
    auditHead: input.auditHead,
    updaterVersion: input.updaterVersion,
  };
}

export function signReport(payload: ReportPayload, signer: Signer): Promise<DsseEnvelope> {
  return signDsse(REPORT_PAYLOAD_TYPE, canonicalJsonBytes(payload), [signer]);
}
