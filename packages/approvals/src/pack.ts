/**
 * `evidence pack`: assemble every change of a period, its signed change record,
 * the audit logs with their verification reports, summary statistics, an
 * auditor-readable index.html, evidence.json, and a signed manifest of every
 * file's sha256. The pack is built in a staging directory and renamed into place,
 * so a failure never leaves a half-written pack.
 */
import { mkdir, mkdtemp, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import {
  ClawbackError,
  canonicalJsonBytes,
  encodePublicKeyFile,
  isClawbackError,
  isoSeconds,
  type PublicKey,
  publicKeyJson,
  type Signer,
  sha256Hex,
  signDsse,
} from '@clawback/core';
import { approveCheck } from './check.js';
import { ApprovalErrors } from './errors.js';
import { type GitHubClient, githubError } from './github-client.js';
import { packAuditLog } from './pack-audit.js';
import { renderIndexHtml } from './pack-html.js';
import {
  type AuditLogEvidence,
  EVIDENCE_MANIFEST_PAYLOAD_TYPE,
  type EvidenceDocument,
  type EvidenceManifest,
  MANIFEST_FILE,
  type PopulationItem,
  safeName,
  summarize,
} from './pack-types.js';
import {
  type Change,
  policyChanges,
  readRecordsDir,
  releasesFromTuf,
  type StoredRecord,
} from './population.js';
import { type ChangeRecordPredicate, verifyChangeRecord } from './record.js';

export interface EvidencePackOptions {
  client: GitHubClient;
  owner: string;
  repo: string;
  since: Date;
  until: Date;
  outDir: string;
  /** TUF repository directory (its metadata/ lists every release). */
  tufRepoDir?: string;
  /** Directory of change records written by `approve check --out`. */
  recordsDir?: string;
  /** Keys (besides the signer's) whose stored records are accepted. */
  recordKeys?: readonly PublicKey[];
  auditLogs?: readonly string[];
  /** Keys that sign audit-log checkpoints. */
  auditKeys?: readonly PublicKey[];
  /** Repository paths whose changes are access-policy changes (default `policies`). */
  policyPaths?: readonly string[];
  signer: Signer;
  now: Date;
  apiBase: string;
  progress?: (message: string) => void;
}

export interface EvidencePackResult {
  dir: string;
  evidence: EvidenceDocument;
  files: number;
}

export async function buildEvidencePack(o: EvidencePackOptions): Promise<EvidencePackResult> {
  if (!(o.since < o.until)) {
    throw new ClawbackError(
      ApprovalErrors.EVIDENCE_INPUT_INVALID,
      `--since ${isoSeconds(o.since)} is not before --until ${isoSeconds(o.until)}`,
    );
  }
  const out = resolve(o.outDir);
  await assertEmptyOrMissing(out);
  await mkdir(dirname(out), { recursive: true });
  const stage = await mkdtemp(join(dirname(out), `.${basename(out)}.partial-`));
  try {
    const evidence = await fill(stage, o);
    const files = await writeManifest(stage, evidence, o.signer);
    await rmdir(out).catch(() => undefined);
    await rename(stage, out);
    return { dir: out, evidence, files };
  } catch (err) {
    await rm(stage, { recursive: true, force: true });
    throw err;
  }
}

async function assertEmptyOrMissing(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => []);
  if (names.length > 0) {
    throw new ClawbackError(ApprovalErrors.EVIDENCE_OUT_EXISTS, `${dir} already holds files`, {
      hint: 'Choose a new --out directory; evidence packs are never overwritten.',
    });
  }
}

async function fill(stage: string, o: EvidencePackOptions): Promise<EvidenceDocument> {
  const say = o.progress ?? (() => undefined);
  const trusted = [o.signer.publicKey, ...(o.recordKeys ?? [])];
  const stored = o.recordsDir ? await verifiedStoredRecords(o.recordsDir, trusted) : [];
  const changes: Change[] = [];
  const tufMetadata: string[] = [];
  if (o.tufRepoDir) {
    const { releases, metadata } = await releasesFromTuf(o.tufRepoDir, o.since, o.until);
    changes.push(...releases);
    await mkdir(join(stage, 'tuf'), { recursive: true });
    for (const m of metadata) {
      await writeFile(join(stage, 'tuf', m.file), m.bytes);
      tufMetadata.push(`tuf/${m.file}`);
    }
    say(`${releases.length} release(s) in the TUF repository for the period`);
  }
  let defaultBranch: string;
  try {
    defaultBranch = (await o.client.rest.repos.get({ owner: o.owner, repo: o.repo })).data.default_branch;
  } catch (err) {
    throw githubError(`reading repository ${o.owner}/${o.repo}`, err);
  }
  const policies = await policyChanges(
    o.client,
    { owner: o.owner, repo: o.repo },
    defaultBranch,
    o.policyPaths ?? ['policies'],
    o.since,
    o.until,
  );
  changes.push(...policies);
  say(`${policies.length} access-policy change(s) on ${defaultBranch}`);
  await mkdir(join(stage, 'records'), { recursive: true });
  const population: PopulationItem[] = [];
  for (const change of changes) population.push(await reconcile(stage, change, stored, o));
  const auditLogs: AuditLogEvidence[] = [];
  for (const [i, path] of (o.auditLogs ?? []).entries())
    auditLogs.push(await packAuditLog(stage, i, path, o));
  return {
    schemaVersion: 1,
    repository: `${o.owner}/${o.repo}`,
    period: { since: isoSeconds(o.since), until: isoSeconds(o.until) },
    generatedAt: isoSeconds(o.now),
    apiBase: o.apiBase,
    population,
    summary: summarize(population, auditLogs),
    auditLogs,
    recordKeys: trusted.map((k) => publicKeyJson(k.bytes)),
    tufMetadata,
  };
}

interface VerifiedStored extends StoredRecord {
  predicate: ChangeRecordPredicate;
}

async function verifiedStoredRecords(dir: string, trusted: PublicKey[]): Promise<VerifiedStored[]> {
  const out: VerifiedStored[] = [];
  for (const r of await readRecordsDir(dir)) {
    try {
      out.push({
        ...r,
        predicate: verifyChangeRecord(r.envelope, { trustedKeys: trusted, requireApproved: false }).predicate,
      });
    } catch (err) {
      throw new ClawbackError(
        ApprovalErrors.EVIDENCE_INPUT_INVALID,
        `${join(dir, r.file)}: ${(err as Error).message}`,
        {
          cause: err,
          hint: 'Every stored record must verify with --key or a --record-key; remove or re-create the bad one.',
        },
      );
    }
  }
  return out;
}

async function reconcile(
  stage: string,
  c: Change,
  stored: VerifiedStored[],
  o: EvidencePackOptions,
): Promise<PopulationItem> {
  const base = {
    id: c.id,
    kind: c.kind,
    title:
      c.kind === 'release'
        ? `${c.name} ${c.version}${c.channel ? ` (${c.channel})` : ''}`
        : `change to ${c.paths}/`,
    target: c.kind === 'release' ? c.target : null,
    bundleSha256: c.kind === 'release' ? c.bundleSha256 : null,
    rollback: c.kind === 'release' && c.downgradeReason !== null,
  };
  const commit = c.kind === 'release' ? c.provenanceCommit : c.commit;
  const found =
    c.kind === 'release'
      ? stored.find((s) => s.predicate.bundle?.sha256 === c.bundleSha256)
      : stored.find((s) => s.predicate.commit === c.commit);
  let predicate: ChangeRecordPredicate | undefined = found?.predicate;
  let bytes: Uint8Array | undefined = found?.bytes;
  let source: PopulationItem['recordSource'] = found ? 'records-dir' : null;
  let failure: string | null = null;
  if (!found && commit) {
    try {
      const r = await approveCheck({
        client: o.client,
        owner: o.owner,
        repo: o.repo,
        commit,
        now: o.now,
        apiBase: o.apiBase,
        signer: o.signer,
        ...(c.kind === 'release' ? { bundle: { name: c.target, sha256: c.bundleSha256 } } : {}),
        ...(o.progress ? { progress: o.progress } : {}),
      });
      predicate = r.statement.predicate;
      bytes = Buffer.from(`${JSON.stringify(r.envelope, null, 2)}\n`);
      source = 'collected';
    } catch (err) {
      // Facts about this one change could not be collected: it is an exception, named.
      if (!isClawbackError(err) || err.kind === 'environment' || err.kind === 'internal') throw err;
      failure = `evidence could not be collected: ${err.message}`;
    }
  } else if (!found) {
    failure = 'no change record and no provenance naming the source commit';
  }
  const record = bytes ? `records/${safeName(c.id)}.intoto.json` : null;
  if (record && bytes) await writeFile(join(stage, record), bytes);
  const d = predicate?.decision;
  const exception =
    failure ??
    (predicate?.pullRequest === null ? `no pull request: ${d?.failedRules.join(', ')}` : null) ??
    (d && !d.approved ? `not approved: ${d.failedRules.join(', ')}` : null);
  return {
    ...base,
    commit: predicate?.commit ?? commit,
    pullRequest: predicate?.pullRequest ?? null,
    status: d?.status ?? 'exception',
    failedRules: d?.failedRules ?? [],
    approvers: d?.qualifyingApprovers ?? [],
    emergency: d?.emergency != null,
    exception,
    record,
    recordSource: source,
    landedAt:
      predicate?.evidence.pullRequest?.mergedAt ??
      predicate?.evidence.refUpdate?.timestamp ??
      (c.kind === 'release' ? c.publishedAt : c.committedAt),
  };
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

async function writeManifest(stage: string, evidence: EvidenceDocument, signer: Signer): Promise<number> {
  await writeFile(join(stage, 'evidence.json'), `${JSON.stringify(evidence, null, 2)}\n`);
  await writeFile(join(stage, 'index.html'), renderIndexHtml(evidence));
  await writeFile(join(stage, 'signer.pub'), encodePublicKeyFile(signer.publicKey));
  const files: EvidenceManifest['files'] = [];
  for (const path of await listFiles(stage)) {
    const bytes = await readFile(join(stage, path));
    files.push({ path, sha256: sha256Hex(bytes), size: bytes.length });
  }
  const manifest: EvidenceManifest = {
    schemaVersion: 1,
    repository: evidence.repository,
    generatedAt: evidence.generatedAt,
    files,
  };
  const envelope = await signDsse(EVIDENCE_MANIFEST_PAYLOAD_TYPE, canonicalJsonBytes(manifest), [signer]);
  await writeFile(join(stage, MANIFEST_FILE), `${JSON.stringify(envelope, null, 2)}\n`);
  return files.length + 1;
}
