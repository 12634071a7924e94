// Releases, staged rollouts, automatic halts, the report deadline, alerts and the audit chain,
// against a real console on both storage drivers.

import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportAuditLog } from '@clawback/console';
import { fromBase64, verifyAuditLog, verifyEd25519 } from '@clawback/core';
import { type ConsoleRepo, requestJson, type SimDevice } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT, enrollFleet, registerRelease, repoFor } from './fixtures.js';
import { count, DRIVERS, startConsole, type TestConsole } from './harness.js';

type ErrBody = { error: { code: string } };
const code = (b: unknown) => (b as ErrBody).error?.code;

interface Hook {
  url: string;
  received: { headers: Record<string, string | string[] | undefined>; body: string }[];
  failFirst: number;
  server: Server;
}

async function webhookSink(failFirst = 0): Promise<Hook> {
  const hook: Hook = { url: '', received: [], failFirst, server: createServer() };
  hook.server.on('request', (req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += String(c);
    });
    req.on('end', () => {
      if (hook.failFirst > 0) {
        hook.failFirst -= 1;
        res.writeHead(503).end();
        return;
      }
      hook.received.push({ headers: req.headers, body });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', () => r()));
  hook.url = `http://127.0.0.1:${(hook.server.address() as AddressInfo).port}/hook`;
  return hook;
}

function desiredOf(body: unknown): { version: string; rolloutId: string; stage: number } | null {
  return (body as { desired: { version: string; rolloutId: string; stage: number } | null }).desired;
}

describe.each(DRIVERS)('console rollouts (%s)', (driver) => {
  let c: TestConsole;
  let repo: ConsoleRepo;
  let fleet: SimDevice[];
  let slack: Hook;
  let generic: Hook;
  beforeAll(async () => {
    c = await startConsole(driver);
    repo = await repoFor(c);
    slack = await webhookSink();
    generic = await webhookSink(1);
    for (const [h, format] of [
      [slack, 'slack'],
      [generic, 'generic'],
    ] as const) {
      expect(
        (await requestJson(c.url, 'POST', '/api/v1/webhooks', { url: h.url, format }, c.tokens.admin)).status,
      ).toBe(201);
    }
    // 40 devices: 30 rpi4 on a current updater, 5 jetson (incompatible), 5 rpi4 with an old updater.
    fleet = await enrollFleet(c, 40, (i) => ({
      hardwareId: i >= 30 && i < 35 ? 'jetson' : 'rpi4',
      updaterVersion: i >= 35 ? '0.0.9' : '0.2.0',
      tags: ['site:berlin'],
    }));
  });
  afterAll(async () => {
    await c?.close();
    for (const h of [slack, generic]) h?.server.close();
  });

  const post = (path: string, body: unknown, token = c.tokens.rm) =>
    requestJson(c.url, 'POST', path, body, token);

  it('refuses to roll out a release without a valid change record', async () => {
    const rel = await registerRelease(c, repo, '0.9.0', { withRecord: false });
    const r = await post('/api/v1/rollouts', { releaseId: rel.id });
    expect([r.status, code(r.body)]).toEqual([422, 'RELEASE_CHANGE_RECORD_INVALID']);
    // A record signed by an untrusted key does not help either.
    const { approvedChangeRecord } = await import('@clawback/testing');
    const { generateKeyPair, signerFromKeyPair } = await import('@clawback/core');
    const forged = await approvedChangeRecord(
      { name: rel.targetPath, sha256: rel.sha256 },
      signerFromKeyPair(generateKeyPair()),
    );
    const attach = await post(`/api/v1/releases/${rel.id}/change-record`, { changeRecord: forged });
    expect([attach.status, code(attach.body)]).toEqual([422, 'RELEASE_CHANGE_RECORD_INVALID']);
    // Nor does a genuine record for a different bundle.
    const other = await approvedChangeRecord(
      { name: rel.targetPath, sha256: 'f'.repeat(64) },
      c.releaseSigner,
    );
    const mismatch = await post(`/api/v1/releases/${rel.id}/change-record`, { changeRecord: other });
    expect([mismatch.status, code(mismatch.body)]).toEqual([422, 'RELEASE_CHANGE_RECORD_MISMATCH']);
    expect(await count(c.server, `releases WHERE id = '${rel.id}' AND change_record IS NOT NULL`)).toBe(0);
    const ok = await approvedChangeRecord({ name: rel.targetPath, sha256: rel.sha256 }, c.releaseSigner);
    expect((await post(`/api/v1/releases/${rel.id}/change-record`, { changeRecord: ok })).status).toBe(200);
    expect((await post('/api/v1/rollouts', { releaseId: rel.id, dryRun: true })).status).toBe(200);
  });

  it('refuses targets metadata not signed by the pinned repository', async () => {
    const rel = await repo.addBundle(AGENT, '0.9.5');
    const targets = structuredClone(rel.targets) as {
      signed: { targets: Record<string, { hashes: { sha256: string } }> };
    };
    const t = targets.signed.targets[rel.targetPath];
    if (t) t.hashes.sha256 = 'e'.repeat(64);
    const r = await post('/api/v1/releases', { targets, targetPath: rel.targetPath });
    expect([r.status, code(r.body)]).toEqual([422, 'RELEASE_TUF_UNTRUSTED']);
  });

  it('dry-runs a plan: stable cohorts, and refusals for incompatible hardware and old updaters', async () => {
    const rel = await registerRelease(c, repo, '1.0.0', {
      hardwareIds: ['rpi4'],
      minUpdaterVersion: '0.1.0',
    });
    const body = { releaseId: rel.id, dryRun: true, selector: { tags: ['site:berlin'] } };
    const r1 = await post('/api/v1/rollouts', body);
    expect(r1.status).toBe(200);
    const plan = (
      r1.body as {
        plan: {
          stages: { name: string; devices: string[] }[];
          refused: { deviceId: string; reason: string }[];
        };
      }
    ).plan;
    expect(plan.stages.map((s) => s.devices.length)).toEqual([1, 1, 6, 22]);
    expect(plan.refused.filter((x) => x.reason === 'incompatible-hardware')).toHaveLength(5);
    expect(plan.refused.filter((x) => x.reason === 'updater-too-old')).toHaveLength(5);
    expect(await requestJson(c.url, 'GET', '/api/v1/rollouts', undefined, c.tokens.viewer)).toMatchObject({
      body: { rollouts: [] },
    });
    const viewer = await post('/api/v1/rollouts', body, c.tokens.viewer);
    expect(viewer.status).toBe(403);
  });

  it('runs a good release through every stage; success counts only from committed reports', async () => {
    const rel = await registerRelease(c, repo, '1.1.0', {
      hardwareIds: ['rpi4'],
      minUpdaterVersion: '0.1.0',
    });
    const created = await post('/api/v1/rollouts', {
      releaseId: rel.id,
      selector: { tags: ['site:berlin'] },
      stages: [
        { name: 'canary', devices: 1, maxFailures: 0 },
        { name: '50%', percent: 50, maxFailureRate: 0.2 },
        { name: 'all', percent: 100, maxFailureRate: 0.2 },
      ],
    });
    expect(created.status).toBe(201);
    const id = (created.body as { id: string }).id;
    // Starting needs an approval: a viewer has none to give.
    const byViewer = await post(`/api/v1/rollouts/${id}/start`, {}, c.tokens.viewer);
    expect([byViewer.status, code(byViewer.body)]).toEqual([403, 'ROLLOUT_APPROVAL_REQUIRED']);
    const started = await post(`/api/v1/rollouts/${id}/start`, {});
    expect(started.body).toMatchObject({
      rollout: { state: 'active', approval: { kind: 'release-manager-token', by: 'rm' } },
    });
    expect((await post(`/api/v1/rollouts/${id}/start`, {})).status).toBe(409);

    for (let round = 0; round < 3; round++) {
      const offered: SimDevice[] = [];
      for (const d of fleet) {
        const r = await d.checkin(c.url);
        const want = r.status === 200 ? desiredOf(r.body) : undefined;
        if (want?.rolloutId === id && d.installed !== '1.1.0') offered.push(d);
      }
      if (offered.length === 0) break;
      // An intermediate state is not success: nothing advances until the committed reports arrive.
      for (const d of offered) {
        expect(
          (await d.report(c.url, { outcome: 'committed', rolloutId: id, to: { version: '1.1.0' } })).status,
        ).toBe(201);
        d.installed = '1.1.0';
      }
    }
    const view = await requestJson(c.url, 'GET', `/api/v1/rollouts/${id}`, undefined, c.tokens.viewer);
    expect(view.body).toMatchObject({ rollout: { state: 'completed' } });
    expect(fleet.filter((d) => d.installed === '1.1.0')).toHaveLength(30);
    // Refused devices were never offered the release.
    for (const d of fleet.slice(30)) expect(d.installed).toBeNull();
  });

  it('halts automatically when a stage exceeds its failure threshold, alerts once, and offers nothing further', async () => {
    const rel = await registerRelease(c, repo, '1.2.0', {
      hardwareIds: ['rpi4'],
      minUpdaterVersion: '0.1.0',
    });
    const created = await post('/api/v1/rollouts', {
      releaseId: rel.id,
      selector: { tags: ['site:berlin'] },
      stages: [
        { name: 'canary', devices: 2, maxFailures: 0 },
        { name: 'all', percent: 100 },
      ],
    });
    const id = (created.body as { id: string }).id;
    await post(`/api/v1/rollouts/${id}/start`, {});
    const offered = [];
    for (const d of fleet) {
      const r = await d.checkin(c.url);
      if (r.status === 200 && desiredOf(r.body)?.rolloutId === id) offered.push(d);
    }
    expect(offered).toHaveLength(2);
    const [bad, good] = offered as [SimDevice, SimDevice];
    const health = [
      {
        check: 'rss',
        ok: false,
        measured: 81.5,
        limit: 50,
        unit: 'MiB',
        message: 'working set above max_working_set_mb',
      },
      { check: 'heartbeat', ok: true },
    ];
    await bad.report(c.url, {
      outcome: 'rolled-back',
      rolloutId: id,
      to: { version: '1.2.0' },
      reasonCode: 'RESOURCE_LIMIT_EXCEEDED',
      reason: 'rss 81.5 MiB > 50 MiB',
      health,
    });
    const view = await requestJson(c.url, 'GET', `/api/v1/rollouts/${id}`, undefined, c.tokens.viewer);
    expect(view.body).toMatchObject({
      rollout: { state: 'halted', halt_reason: expect.stringContaining('1 of 2 device(s) failed') },
    });
    // The other canary's late success is recorded but does not resume anything.
    await good.report(c.url, { outcome: 'committed', rolloutId: id, to: { version: '1.2.0' } });
    good.etag = undefined; // ask afresh instead of accepting a 304
    for (const d of fleet) {
      const r = await d.checkin(c.url);
      const desired = r.status === 200 ? desiredOf(r.body) : undefined;
      // The canary that committed keeps 1.2.0 (a halt never orders a downgrade); nobody else is offered it.
      if (d === good) expect(desired).toMatchObject({ rolloutId: id, version: '1.2.0' });
      else if (r.status === 200) expect(desired?.rolloutId).not.toBe(id);
    }
    await c.server.deliverAlerts();
    await c.server.deliverAlerts();
    const alerts = (await requestJson(c.url, 'GET', '/api/v1/alerts', undefined, c.tokens.viewer)).body as {
      alerts: { kind: string; rollout_id: string }[];
    };
    expect(alerts.alerts.filter((a) => a.kind === 'rollout.halted' && a.rollout_id === id)).toHaveLength(1);
    expect(alerts.alerts.filter((a) => a.kind === 'update.rolled-back' && a.rollout_id === id)).toHaveLength(
      1,
    );
    // Slack got the text form; the generic hook (which failed once, then recovered) the signed document.
    const slackHalts = slack.received.filter((r) => r.body.includes('rollout.halted'));
    expect(slackHalts).toHaveLength(1);
    expect(JSON.parse(slackHalts[0]?.body ?? '{}')).toHaveProperty('text');
    c.clock.advance(10_000);
    await c.server.deliverAlerts();
    const halted = generic.received
      .map((r) => ({ r, doc: JSON.parse(r.body) as { kind: string; rolloutId: string } }))
      .filter((x) => x.doc.kind === 'rollout.halted' && x.doc.rolloutId === id);
    expect(halted).toHaveLength(1);
    const sig = /sig="([^"]+)"/.exec(String(halted[0]?.r.headers['x-clawback-signature']))?.[1] ?? '';
    expect(
      verifyEd25519(
        c.server.ctx.signer.publicKey,
        Buffer.from(halted[0]?.r.body ?? ''),
        fromBase64(sig) ?? new Uint8Array(),
      ),
    ).toBe(true);

    // Release manager actions: resume acknowledges the failure; abort ends it.
    expect((await post(`/api/v1/rollouts/${id}/halt`, {})).status).toBe(409);
    const resumed = await post(`/api/v1/rollouts/${id}/resume`, {
      reason: 'rss limit raised in 1.2.1 config',
    });
    expect(resumed.body).toMatchObject({ rollout: { state: 'active' } });
    const aborted = await post(`/api/v1/rollouts/${id}/abort`, {});
    expect(aborted.body).toMatchObject({ rollout: { state: 'aborted' } });
  });

  it('counts a device that stays silent past the report deadline as failed, and halts', async () => {
    const rel = await registerRelease(c, repo, '1.3.0', {
      hardwareIds: ['rpi4'],
      minUpdaterVersion: '0.1.0',
    });
    const created = await post('/api/v1/rollouts', {
      releaseId: rel.id,
      selector: { tags: ['site:berlin'] },
      reportDeadlineSecs: 600,
      stages: [
        { name: 'canary', devices: 1, maxFailures: 0 },
        { name: 'all', percent: 100 },
      ],
    });
    const id = (created.body as { id: string }).id;
    await post(`/api/v1/rollouts/${id}/start`, {});
    c.clock.advance(599_000);
    expect((await c.server.sweep()).silent).toBe(0);
    c.clock.advance(2_000);
    expect(await c.server.sweep()).toMatchObject({ silent: 1, rollouts: [id] });
    const view = await requestJson(c.url, 'GET', `/api/v1/rollouts/${id}`, undefined, c.tokens.viewer);
    expect(view.body).toMatchObject({
      rollout: { state: 'halted' },
      stages: [
        { stage: 0, failed: 1 },
        { stage: 1, open: 29 },
      ],
    });
    const alerts = (await requestJson(c.url, 'GET', '/api/v1/alerts', undefined, c.tokens.viewer)).body as {
      alerts: { kind: string; rollout_id: string }[];
    };
    expect(
      alerts.alerts
        .filter((a) => a.rollout_id === id)
        .map((a) => a.kind)
        .sort(),
    ).toEqual(['device.silent', 'rollout.halted']);
  });

  it('records every change in a hash chain that exports and verifies offline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'clawback-console-audit-'));
    try {
      const out = join(dir, 'console-audit.log');
      const res = await exportAuditLog(c.server.db, out, c.server.ctx.signer, c.clock.now());
      expect(res.entries).toBeGreaterThan(50);
      const report = await verifyAuditLog(out, { trustedKeys: [c.server.ctx.signer.publicKey] });
      expect(report.ok).toBe(true);
      const kinds = (await requestJson(c.url, 'GET', '/api/v1/audit?limit=1000', undefined, c.tokens.viewer))
        .body as { entries: { kind: string }[] };
      const seen = new Set(kinds.entries.map((e) => e.kind));
      for (const k of [
        'device.enrolled',
        'release.registered',
        'rollout.created',
        'rollout.started',
        'report.accepted',
        'rollout.halted',
        'alert.raised',
        'alert.delivered',
        'rollout.resumed',
        'rollout.aborted',
        'rollout.completed',
        'rollout.device-silent',
      ])
        expect(seen, k).toContain(k);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
