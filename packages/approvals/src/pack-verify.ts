/**
 * `evidence verify`: check a pack offline. Every link is re-checked, and every
 * problem is named (not just the first):
 *   manifest signature → every file's sha256 → no unlisted files →
 *   each change record's signature and its subject/decision against evidence.json →
 *   each audit log's hash chain and checkpoint against its stored report and export →
 *   summary statistics and index.html recomputed from the population →
 *   each release present in the copied TUF targets metadata.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AuditVerifyReport,
  ClawbackError,
  canonicalJson,
  isClawbackError,
  type PublicKey,
  parseAuditEntries,
  parseDsseEnvelope,
  parsePublicKey,
  sha256Hex,
  verifyAuditChain,
  verifyDsse,
} from '@clawback/core';
import { ApprovalErrors } from './errors.js';
import { renderIndexHtml } from './pack-html.js';
import {
  EVIDENCE_MANIFEST_PAYLOAD_TYPE,
  type EvidenceDocument,
  type EvidenceManifest,
  MANIFEST_FILE,
  summarize,
} from './pack-types.js';
import { verifyChangeRecord } from './record.js';

export type PackProblemCode =
  | 'MANIFEST_INVALID'
  | 'MANIFEST_SIGNATURE_INVALID'
  | 'FILE_MISSING'
  | 'FILE_MODIFIED'
  | 'FILE_UNLISTED'
  | 'EVIDENCE_INVALID'
  | 'RECORD_INVALID'
  | 'RECORD_MISMATCH'
  | 'AUDIT_CHAIN_INVALID'
  | 'AUDIT_REPORT_MISMATCH'
  | 'AUDIT_EXPORT_MISMATCH'
  | 'SUMMARY_MISMATCH'
  | 'INDEX_MISMATCH'
  | 'POPULATION_MISMATCH';

export interface PackProblem {
  code: PackProblemCode;
  path: string;
  message: string;
}

export interface PackVerifyReport {
  ok: boolean;
  dir: string;
  /** Key ids that signed the manifest. */
  signedBy: string[];
  /** Whether the manifest key was pinned with --trusted-key (else only self-consistent). */
  signerPinned: boolean;
  files: number;
  changes: number;
  exceptions: number;
  problems: PackProblem[];
  warnings: string[];
}

async function readText(dir: string, path: string): Promise<string | undefined> {
  return readFile(join(dir, path), 'utf8').catch(() => undefined);
}

async function listFiles(root: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(root, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) out.push(...(await listFiles(root, p)));
    else out.push(p);
  }
  return out.sort();
}

export async function verifyEvidencePack(
  dir: string,
  options: { trustedKeys?: readonly PublicKey[] } = {},
): Promise<PackVerifyReport> {
  const problems: PackProblem[] = [];
  const warnings: string[] = [];
  const add = (code: PackProblemCode, path: string, message: string) =>
    problems.push({ code, path, message });
  const report = (extra: Partial<PackVerifyReport> = {}): PackVerifyReport => ({
    ok: problems.length === 0,
    dir,
    signedBy: [],
    signerPinned: (options.trustedKeys?.length ?? 0) > 0,
    files: 0,
    changes: 0,
    exceptions: 0,
    problems,
    warnings,
    ...extra,
  });
  const entries = await listFiles(dir).catch(() => undefined);
  if (!entries) {
    throw new ClawbackError(ApprovalErrors.EVIDENCE_INPUT_INVALID, `${dir} is not a readable directory`, {
      hint: 'Pass the directory `clawback evidence pack --out` created.',
    });
  }
  // 1. The manifest signature: pinned key, or (with a warning) the pack's own signer.pub.
  let keys = options.trustedKeys ?? [];
  if (keys.length === 0) {
    const pub = await readText(dir, 'signer.pub');
    try {
      keys = pub ? [parsePublicKey(pub, 'signer.pub')] : [];
    } catch {
      keys = [];
    }
    warnings.push(
      'the manifest signer is not pinned: pass --trusted-key with the release key you expect; only self-consistency was checked',
    );
  }
  let manifest: EvidenceManifest | undefined;
  let signedBy: string[] = [];
  try {
    const env = parseDsseEnvelope(JSON.parse((await readText(dir, MANIFEST_FILE)) ?? 'null'), MANIFEST_FILE);
    const v = verifyDsse(env, {
      trustedKeys: keys,
      threshold: 1,
      payloadType: EVIDENCE_MANIFEST_PAYLOAD_TYPE,
      source: MANIFEST_FILE,
    });
    signedBy = v.validKeyIds;
    manifest = JSON.parse(Buffer.from(v.payload).toString('utf8')) as EvidenceManifest;
  } catch (err) {
    const sig = isClawbackError(err) && err.kind === 'rejected' && err.code !== 'ENVELOPE_INVALID';
    add(sig ? 'MANIFEST_SIGNATURE_INVALID' : 'MANIFEST_INVALID', MANIFEST_FILE, (err as Error).message);
    return report();
  }
  // 2. Every listed file is present with its hash; nothing else is in the pack.
  const listed = new Set(manifest.files.map((f) => f.path));
  for (const f of manifest.files) {
    const bytes = await readFile(join(dir, f.path)).catch(() => undefined);
    if (!bytes) add('FILE_MISSING', f.path, 'listed in the manifest but missing');
    else if (sha256Hex(bytes) !== f.sha256)
      add(
        'FILE_MODIFIED',
        f.path,
        `sha256 ${sha256Hex(bytes)} does not match the signed manifest (${f.sha256})`,
      );
  }
  for (const p of entries)
    if (p !== MANIFEST_FILE && !listed.has(p))
      add('FILE_UNLISTED', p, 'present in the pack but not in the signed manifest');
  // 3. evidence.json and everything it links.
  let evidence: EvidenceDocument;
  try {
    evidence = JSON.parse((await readText(dir, 'evidence.json')) ?? '') as EvidenceDocument;
    if (evidence.schemaVersion !== 1 || !Array.isArray(evidence.population))
      throw new Error('not a version 1 evidence document');
  } catch (err) {
    add('EVIDENCE_INVALID', 'evidence.json', (err as Error).message);
    return report({ signedBy, files: manifest.files.length + 1 });
  }
  await checkRecords(dir, evidence, add);
  await checkAudit(dir, evidence, add);
  if (canonicalJson(summarize(evidence.population, evidence.auditLogs)) !== canonicalJson(evidence.summary)) {
    add('SUMMARY_MISMATCH', 'evidence.json', 'summary statistics do not match the population and audit logs');
  }
  if ((await readText(dir, 'index.html')) !== renderIndexHtml(evidence)) {
    add('INDEX_MISMATCH', 'index.html', 'index.html does not show what evidence.json says');
  }
  await checkTuf(dir, evidence, add);
  return report({
    signedBy,
    files: manifest.files.length + 1,
    changes: evidence.population.length,
    exceptions: evidence.population.filter((p) => p.exception !== null).length,
  });
}

type Add = (code: PackProblemCode, path: string, message: string) => void;

async function checkRecords(dir: string, e: EvidenceDocument, add: Add): Promise<void> {
  let keys: PublicKey[];
  try {
    keys = e.recordKeys.map((k, i) => parsePublicKey(JSON.stringify(k), `evidence.json recordKeys[${i}]`));
  } catch (err) {
    add('EVIDENCE_INVALID', 'evidence.json', (err as Error).message);
    return;
  }
  for (const item of e.population) {
    if (!item.record) continue;
    let env: unknown;
    try {
      env = JSON.parse((await readText(dir, item.record)) ?? '');
    } catch {
      add('RECORD_INVALID', item.record, `change record of ${item.id} is missing or not JSON`);
      continue;
    }
    try {
      const v = verifyChangeRecord(env, {
        trustedKeys: keys,
        requireApproved: false,
        ...(item.commit ? { expectedCommit: item.commit } : {}),
        ...(item.bundleSha256 ? { expectedBundleSha256: item.bundleSha256 } : {}),
      });
      const d = v.predicate.decision;
      if (d.status !== item.status || canonicalJson(d.failedRules) !== canonicalJson(item.failedRules)) {
        add(
          'RECORD_MISMATCH',
          item.record,
          `${item.id}: evidence.json says ${item.status}, the signed record says ${d.status}`,
        );
      }
    } catch (err) {
      add('RECORD_INVALID', item.record, `${item.id}: ${(err as Error).message}`);
    }
  }
}

async function checkAudit(dir: string, e: EvidenceDocument, add: Add): Promise<void> {
  for (const a of e.auditLogs) {
    const files = [];
    for (const f of a.files)
      files.push({ name: f.slice(f.lastIndexOf('/') + 1), text: (await readText(dir, f)) ?? '' });
    const checkpoint = a.checkpoint ? await readText(dir, a.checkpoint) : undefined;
    const fresh = verifyAuditChain({ files, ...(checkpoint === undefined ? {} : { checkpoint }) });
    if (!fresh.ok) {
      add(
        'AUDIT_CHAIN_INVALID',
        a.files.at(-1) ?? a.name,
        `${a.name}: ${fresh.problems.map((p) => `${p.code} ${p.message}`).join('; ')}`,
      );
    }
    let stored: AuditVerifyReport | undefined;
    try {
      stored = JSON.parse((await readText(dir, a.report)) ?? '') as AuditVerifyReport;
    } catch {
      add('AUDIT_REPORT_MISMATCH', a.report, 'verification report is missing or not JSON');
    }
    if (
      stored &&
      (stored.ok !== fresh.ok ||
        stored.headHash !== fresh.headHash ||
        stored.entries !== fresh.entries ||
        stored.ok !== a.ok)
    ) {
      add(
        'AUDIT_REPORT_MISMATCH',
        a.report,
        `${a.name}: stored report (ok=${stored.ok}, ${stored.entries} entries) differs from re-verification (ok=${fresh.ok}, ${fresh.entries} entries)`,
      );
    }
    // Every exported entry must be an entry of the verified chain, byte for byte.
    const chain = new Set(files.flatMap((f) => f.text.split('\n')).filter((l) => l.trim() !== ''));
    const exported = ((await readText(dir, a.export)) ?? '').split('\n').filter((l) => l.trim() !== '');
    const foreign = exported.filter((l) => !chain.has(l));
    if (
      foreign.length > 0 ||
      parseAuditEntries([{ name: 'x', text: exported.join('\n') }]).length !== a.entriesInPeriod
    ) {
      add(
        'AUDIT_EXPORT_MISMATCH',
        a.export,
        `${a.name}: ${foreign.length} exported line(s) are not in the log, or the count differs from ${a.entriesInPeriod}`,
      );
    }
  }
}

async function checkTuf(dir: string, e: EvidenceDocument, add: Add): Promise<void> {
  const targets = new Map<string, string>();
  for (const f of e.tufMetadata) {
    try {
      const md = JSON.parse((await readText(dir, f)) ?? '') as {
        signed?: { targets?: Record<string, { hashes?: { sha256?: string } }> };
      };
      for (const [p, t] of Object.entries(md.signed?.targets ?? {}))
        if (t.hashes?.sha256) targets.set(p, t.hashes.sha256);
    } catch {
      add('POPULATION_MISMATCH', f, 'TUF targets metadata is missing or not JSON');
    }
  }
  for (const item of e.population) {
    if (item.kind !== 'release') continue;
    if (!item.target || targets.get(item.target) !== item.bundleSha256) {
      add(
        'POPULATION_MISMATCH',
        'evidence.json',
        `${item.id}: bundle ${item.bundleSha256} is not the target ${item.target} of the included TUF metadata`,
      );
    }
  }
}
