/**
 * The evidence pack format (docs/evidence-pack.md). `evidence.json` is the index
 * of the pack; `manifest.dsse.json` signs the sha256 of every other file.
 */
import type { AuditVerifyReport, PublicKeyJson } from '@clawback/core';

export const EVIDENCE_MANIFEST_PAYLOAD_TYPE = 'application/vnd.clawback.evidence-manifest+json';
export const MANIFEST_FILE = 'manifest.dsse.json';

export interface PopulationItem {
  id: string;
  kind: 'release' | 'policy';
  /** Release: agent name and version; policy: the paths that changed. */
  title: string;
  target: string | null;
  bundleSha256: string | null;
  commit: string | null;
  pullRequest: { number: number; url: string; title: string } | null;
  /** Decision status from the change record, or `exception` when there is none. */
  status: string;
  failedRules: string[];
  approvers: string[];
  emergency: boolean;
  rollback: boolean;
  /** Why the change is an exception (no PR, not approved, no record), else null. */
  exception: string | null;
  /** Pack-relative path of the signed change record. */
  record: string | null;
  /** Where the record came from: an existing one, or collected while packing. */
  recordSource: 'records-dir' | 'collected' | null;
  landedAt: string | null;
}

export interface PackSummary {
  changes: number;
  releases: number;
  policyChanges: number;
  approved: number;
  exceptions: number;
  emergencyChanges: number;
  emergencyPendingRetro: number;
  rollbacks: number;
  qualifyingApprovals: number;
  auditLogs: number;
  auditLogsVerified: number;
}

export interface AuditLogEvidence {
  name: string;
  /** Pack-relative paths of the copied log files, oldest first, and the checkpoint. */
  files: string[];
  checkpoint: string | null;
  report: string;
  export: string;
  ok: boolean;
  entriesInPeriod: number;
  byKind: Record<string, number>;
  rollbacks: number;
}

export interface EvidenceDocument {
  schemaVersion: 1;
  repository: string;
  period: { since: string; until: string };
  generatedAt: string;
  apiBase: string;
  population: PopulationItem[];
  summary: PackSummary;
  auditLogs: AuditLogEvidence[];
  /** Keys whose signatures on change records this pack accepts (trusted via the manifest signature). */
  recordKeys: PublicKeyJson[];
  tufMetadata: string[];
}

export interface EvidenceManifest {
  schemaVersion: 1;
  repository: string;
  generatedAt: string;
  files: { path: string; sha256: string; size: number }[];
}

export type { AuditVerifyReport };

export function summarize(
  population: readonly PopulationItem[],
  audit: readonly AuditLogEvidence[],
): PackSummary {
  return {
    changes: population.length,
    releases: population.filter((p) => p.kind === 'release').length,
    policyChanges: population.filter((p) => p.kind === 'policy').length,
    approved: population.filter((p) => p.exception === null).length,
    exceptions: population.filter((p) => p.exception !== null).length,
    emergencyChanges: population.filter((p) => p.emergency).length,
    emergencyPendingRetro: population.filter((p) => p.status === 'emergency-pending-retro').length,
    rollbacks: population.filter((p) => p.rollback).length + audit.reduce((n, a) => n + a.rollbacks, 0),
    qualifyingApprovals: population.reduce((n, p) => n + p.approvers.length, 0),
    auditLogs: audit.length,
    auditLogsVerified: audit.filter((a) => a.ok).length,
  };
}

/** A change id as a file name. */
export function safeName(id: string): string {
  return id.replace(/[^A-Za-z0-9._@-]+/g, '_');
}
