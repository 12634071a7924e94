// Evidence packs end to end: a real TUF repository (real ceremony, real addRelease), change
// records really signed by `approve check`, a real hash-chained audit log, GitHub replayed
// through the composed client. Then every kind of file in the pack is tampered with and
// `evidence verify` must name the failure.
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  approveCheck,
  buildEvidencePack,
  createGitHubClient,
  EVIDENCE_MANIFEST_PAYLOAD_TYPE,
  type EvidenceDocument,
  MANIFEST_FILE,
  verifyEvidencePack,
} from '@clawback/approvals';
import {
  AuditLog,
  canonicalJsonBytes,
  generateKeyPair,
  type KeyPair,
  sha256Hex,
  signDsse,
  signerFromKeyPair,
} from '@clawback/core';
import { addRelease, createProvenance, initRepo } from '@clawback/sign';
import {
  fakeGitHubFetch,
  type GitHubExchange,
  githubActionsEnv,
  loadGitHubScenario,
  tufCeremony,
} from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha } from './scenario-builder.js';

const AGENT = 'com.openclaw.sensor_parser';
const artifactVerifier = async ({ bundlePath }: { bundlePath: string }) => {
  const [, name, version] = (await readFile(bundlePath, 'utf8')).split('\n');
  return { name: name ?? '', version: version ?? '', hardwareIds: ['rpi4'] };
};

let dir: string;
let pack: string;
let key: KeyPair;
let since: Date;
let until: Date;

async function artifact(version: string): Promise<string> {
  const path = join(dir, `${AGENT}-${version}.clawback`);
  await writeFile(path, `test-artifact\n${AGENT}\n${version}\n`);
  await writeFile(`${path}.sig.json`, JSON.stringify({ signatures: [] }));
  return path;
}

/** GitHub for the pack run: the policy-change story plus the commit listing that finds it. */
function policyGitHub(): GitHubExchange[] {
  const s = loadGitHubScenario('policy-path-needs-owner');
  const c2 = sha('policy-path-needs-owner:c2');
  const prs = s.exchanges.find((x) => x.path.endsWith(`/commits/${s.input.commit}/pulls`));
  const head = s.exchanges.find((x) => x.path === `/repos/acme/agents/commits/${s.input.commit}`);
  return [
    ...s.exchanges,
    {
      method: 'GET',
      path: '/repos/acme/agents/commits?path=policies&sha=main',
      status: 200,
      response: [{ ...(head?.response as object), sha: c2 }],
    },
    { method: 'GET', path: `/repos/acme/agents/commits/${c2}/pulls`, status: 200, response: prs?.response },
  ];
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'clawback-evidence-'));
  key = generateKeyPair();
  const t0 = new Date();
  since = new Date(t0.getTime() - 86_400_000);
  until = new Date(t0.getTime() + 86_400_000);
  const ceremony = await tufCeremony(join(dir, 'keys'));
  const repo = join(dir, 'repo');
  await initRepo({ keysDir: ceremony.keysDir, out: repo, now: t0 });
  const rel = await addRelease({
    repo,
    bundle: await artifact('1.4.0'),
    channel: 'stable',
    now: t0,
    verifyBundle: artifactVerifier,
  });
  // 1.5.0 carries SLSA provenance naming its source commit (the policy PR's merge), so the pack
  // collects its evidence from GitHub and signs a record over the commit and the bundle.
  const b150 = await artifact('1.5.0');
  const prov = await createProvenance({
    bundlePath: b150,
    signers: [signerFromKeyPair(key)],
    env: githubActionsEnv({ GITHUB_SHA: sha('policy-path-needs-owner:merge') }),
  });
  await addRelease({
    repo,
    bundle: b150,
    provenance: prov.provenancePath,
    channel: 'stable',
    now: t0,
    verifyBundle: artifactVerifier,
  });
  await addRelease({
    repo,
    bundle: await artifact('1.4.1'),
    channel: 'stable',
    now: t0,
    verifyBundle: artifactVerifier,
    allowDowngrade: true,
    reason: 'roll back 1.5.0: parser regression',
  });

  // The release workflow's change record for 1.4.0 (approved PR), written as `approve check --out` does.
  const story = loadGitHubScenario('approved-on-head');
  const gh = fakeGitHubFetch(story.exchanges);
  const record = await approveCheck({
    client: createGitHubClient({ token: 'ghs_test', fetch: gh.fetch, retries: 0 }),
    owner: 'acme',
    repo: 'agents',
    commit: story.input.commit,
    now: new Date(story.input.now),
    apiBase: 'https://api.github.com',
    signer: signerFromKeyPair(key),
    bundle: { name: rel.targetPath, sha256: rel.sha256 },
  });
  await mkdir(join(dir, 'records'));
  await writeFile(join(dir, 'records', '1.4.0.json'), JSON.stringify(record.envelope));

  // A device audit log with a rollback in the period, checkpoint signed.
  const logKey = generateKeyPair();
  const log = await AuditLog.open(join(dir, 'device', 'audit.log'), {
    signer: signerFromKeyPair(logKey),
    now: () => t0,
  });
  await log.append('update.installed', { version: '1.5.0' });
  await log.append('update.rollback', { from: '1.5.0', to: '1.4.0', reason: 'health check failed' });
  await log.append('update.reported', { ok: false });

  pack = join(dir, 'pack');
  const gh2 = fakeGitHubFetch(policyGitHub());
  const res = await buildEvidencePack({
    client: createGitHubClient({ token: 'ghs_test', fetch: gh2.fetch, retries: 0 }),
    owner: 'acme',
    repo: 'agents',
    since,
    until,
    outDir: pack,
    tufRepoDir: repo,
    recordsDir: join(dir, 'records'),
    auditLogs: [join(dir, 'device', 'audit.log')],
    auditKeys: [logKey.publicKey],
    signer: signerFromKeyPair(key),
    now: t0,
    apiBase: 'https://api.github.com',
  });
  expect(gh2.unmatched).toEqual([]);
  expect(res.dir).toBe(pack);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function evidence(at = pack): Promise<EvidenceDocument> {
  return JSON.parse(await readFile(join(at, 'evidence.json'), 'utf8')) as EvidenceDocument;
}

describe('evidence pack', () => {
  it('builds the population from the deploy side and reconciles it to PRs', async () => {
    const e = await evidence();
    const byId = Object.fromEntries(e.population.map((p) => [p.id, p]));
    expect(Object.keys(byId).sort()).toEqual(
      [
        `release:${AGENT}@1.4.0`,
        `release:${AGENT}@1.4.1`,
        `release:${AGENT}@1.5.0`,
        `policy:${sha('policy-path-needs-owner:merge').slice(0, 12)}`,
      ].sort(),
    );
    expect(byId[`release:${AGENT}@1.4.0`]).toMatchObject({
      status: 'approved',
      exception: null,
      recordSource: 'records-dir',
      pullRequest: { number: 42 },
    });
    expect(byId[`release:${AGENT}@1.5.0`]).toMatchObject({
      status: 'approved',
      recordSource: 'collected',
      commit: sha('policy-path-needs-owner:merge'),
    });
    expect(byId[`release:${AGENT}@1.4.1`]).toMatchObject({ rollback: true, status: 'exception' });
    expect(byId[`release:${AGENT}@1.4.1`]?.exception).toMatch(/no change record and no provenance/);
    expect(byId[`policy:${sha('policy-path-needs-owner:merge').slice(0, 12)}`]).toMatchObject({
      status: 'approved',
      recordSource: 'collected',
      approvers: ['bob'],
    });
    expect(e.summary).toMatchObject({
      changes: 4,
      releases: 3,
      policyChanges: 1,
      approved: 3,
      exceptions: 1,
      rollbacks: 2,
      auditLogs: 1,
      auditLogsVerified: 1,
    });
    expect(e.auditLogs[0]).toMatchObject({ entriesInPeriod: 3, rollbacks: 1, ok: true });
    const html = await readFile(join(pack, 'index.html'), 'utf8');
    expect(html).toContain('EXCEPTION');
    expect(html).not.toMatch(/<script|<link|src=/);
  });

  it('verifies offline with the pinned key, and warns when the key is not pinned', async () => {
    const pinned = await verifyEvidencePack(pack, { trustedKeys: [key.publicKey] });
    expect(pinned.problems).toEqual([]);
    expect(pinned).toMatchObject({ ok: true, signerPinned: true, changes: 4, exceptions: 1 });
    const unpinned = await verifyEvidencePack(pack);
    expect(unpinned.ok).toBe(true);
    expect(unpinned.warnings.join()).toMatch(/not pinned/);
  });

  it('leaves nothing behind when packing fails midway', async () => {
    const out = join(dir, 'failed-pack');
    const gh = fakeGitHubFetch([
      { method: 'GET', path: '/repos/acme/agents', status: 500, response: { message: 'Server Error' } },
    ]);
    await expect(
      buildEvidencePack({
        client: createGitHubClient({ token: 'x', fetch: gh.fetch, retries: 0 }),
        owner: 'acme',
        repo: 'agents',
        since,
        until,
        outDir: out,
        tufRepoDir: join(dir, 'repo'),
        signer: signerFromKeyPair(key),
        now: new Date(),
        apiBase: 'https://api.github.com',
      }),
    ).rejects.toMatchObject({ code: 'GITHUB_REQUEST_FAILED' });
    expect((await readdir(dir)).filter((n) => n.includes('failed-pack'))).toEqual([]);
  });

  it('refuses to overwrite an existing pack', async () => {
    await expect(
      buildEvidencePack({
        client: createGitHubClient({ token: 'x', fetch: fakeGitHubFetch([]).fetch, retries: 0 }),
        owner: 'acme',
        repo: 'agents',
        since,
        until,
        outDir: pack,
        signer: signerFromKeyPair(key),
        now: new Date(),
        apiBase: 'https://api.github.com',
      }),
    ).rejects.toMatchObject({ code: 'EVIDENCE_OUT_EXISTS' });
  });
});

async function tampered(name: string, change: (d: string) => Promise<void>): Promise<string[]> {
  const copy = join(dir, `tamper-${name}`);
  await cp(pack, copy, { recursive: true });
  await change(copy);
  const r = await verifyEvidencePack(copy, { trustedKeys: [key.publicKey] });
  expect(r.ok).toBe(false);
  return [...new Set(r.problems.map((p) => p.code))];
}

async function edit(path: string, f: (text: string) => string): Promise<void> {
  await writeFile(path, f(await readFile(path, 'utf8')));
}

/** Re-sign the manifest over the pack's current files, as a packer holding the key would. */
async function resign(d: string, signer: KeyPair): Promise<void> {
  const e = await evidence(d);
  const files = [];
  for (const path of (await readdir(d, { recursive: true, withFileTypes: true }))
    .filter((x) => x.isFile())
    .map((x) => join(x.parentPath, x.name).slice(d.length + 1))
    .filter((p) => p !== MANIFEST_FILE)
    .sort()) {
    const bytes = await readFile(join(d, path));
    files.push({ path, sha256: sha256Hex(bytes), size: bytes.length });
  }
  const env = await signDsse(
    EVIDENCE_MANIFEST_PAYLOAD_TYPE,
    canonicalJsonBytes({ schemaVersion: 1, repository: e.repository, generatedAt: e.generatedAt, files }),
    [signerFromKeyPair(signer)],
  );
  await writeFile(join(d, MANIFEST_FILE), JSON.stringify(env));
}

describe('evidence verify names each kind of tampering', () => {
  it('evidence.json edited', async () => {
    const codes = await tampered('evidence', (d) =>
      edit(join(d, 'evidence.json'), (t) => t.replace('"exceptions": 1', '"exceptions": 0')),
    );
    expect(codes).toEqual(['FILE_MODIFIED', 'SUMMARY_MISMATCH', 'INDEX_MISMATCH']);
  });

  it('index.html edited', async () => {
    expect(
      await tampered('index', (d) => edit(join(d, 'index.html'), (t) => t.replace('EXCEPTION', 'approved'))),
    ).toEqual(['FILE_MODIFIED', 'INDEX_MISMATCH']);
  });

  it('a change record edited', async () => {
    const e = await evidence();
    const rec = e.population.find((p) => p.record)?.record as string;
    const codes = await tampered('record', (d) =>
      edit(join(d, rec), (t) =>
        t.replace(/"payload": ?"(.)/, (_m, c: string) => `"payload":"${c === 'e' ? 'f' : 'e'}`),
      ),
    );
    expect(codes).toEqual(['FILE_MODIFIED', 'RECORD_INVALID']);
  });

  it('an audit log entry edited', async () => {
    const e = await evidence();
    const file = e.auditLogs[0]?.files[0] as string;
    const codes = await tampered('audit', (d) =>
      edit(join(d, file), (t) => t.replace('health check failed', 'planned')),
    );
    expect(codes).toEqual(
      expect.arrayContaining(['FILE_MODIFIED', 'AUDIT_CHAIN_INVALID', 'AUDIT_REPORT_MISMATCH']),
    );
  });

  it('the audit verification report edited', async () => {
    const e = await evidence();
    const report = e.auditLogs[0]?.report as string;
    expect(
      await tampered('report', (d) =>
        edit(join(d, report), (t) => t.replace(/"entries": \d+/, '"entries": 99')),
      ),
    ).toEqual(['FILE_MODIFIED', 'AUDIT_REPORT_MISMATCH']);
  });

  it('the audit export edited', async () => {
    const e = await evidence();
    const exp = e.auditLogs[0]?.export as string;
    expect(
      await tampered('export', (d) => edit(join(d, exp), (t) => t.split('\n').slice(1).join('\n'))),
    ).toEqual(['FILE_MODIFIED', 'AUDIT_EXPORT_MISMATCH']);
  });

  it('the TUF targets metadata edited', async () => {
    const e = await evidence();
    const md = e.tufMetadata.at(-1) as string;
    const codes = await tampered('tuf', (d) =>
      edit(join(d, md), (t) =>
        t.replace(/"sha256": ?"[0-9a-f]/, (m) => `${m.slice(0, -1)}${m.endsWith('0') ? '1' : '0'}`),
      ),
    );
    expect(codes).toContain('FILE_MODIFIED');
  });

  it('the manifest signature forged, a file deleted, a file added', async () => {
    expect(
      await tampered('manifest', (d) =>
        edit(join(d, MANIFEST_FILE), (t) =>
          t.replace(/"sig": ?"(.)/, (_m, c: string) => `"sig":"${c === 'A' ? 'B' : 'A'}`),
        ),
      ),
    ).toEqual(['MANIFEST_SIGNATURE_INVALID']);
    expect(await tampered('deleted', (d) => rm(join(d, 'signer.pub')))).toEqual(['FILE_MISSING']);
    expect(await tampered('added', (d) => writeFile(join(d, 'records', 'extra.json'), '{}'))).toEqual([
      'FILE_UNLISTED',
    ]);
  });

  it('a pack re-signed by another key is refused when the key is pinned', async () => {
    const attacker = generateKeyPair();
    expect(await tampered('attacker', (d) => resign(d, attacker))).toEqual(['MANIFEST_SIGNATURE_INVALID']);
  });

  it('evidence.json that contradicts its signed records is caught even when the manifest is re-signed', async () => {
    const codes = await tampered('contradiction', async (d) => {
      const e = await evidence(d);
      const item = e.population.find((p) => p.status === 'approved' && p.record);
      if (!item) throw new Error('no approved item');
      item.status = 'emergency-retro-complete';
      e.summary.exceptions += 1;
      await writeFile(join(d, 'evidence.json'), `${JSON.stringify(e, null, 2)}\n`);
      await resign(d, key);
    });
    expect(codes).toEqual(expect.arrayContaining(['RECORD_MISMATCH', 'SUMMARY_MISMATCH', 'INDEX_MISMATCH']));
  });
});
