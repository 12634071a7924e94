// The operator commands added for the runbooks, run in-process through the real
// `clawback-console` program against a real console: device retire / re-bind, token and
// enrollment-token revoke and list over the API, alerts, failures, audit show / export (while
// the console runs), releases, attaching a change record (a mismatching one refused), and a
// rollout's devices.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consoleProgram } from '@clawback/console';
import { encodePublicKeyFile, generateKeyPair, runProgram, verifyAuditLog } from '@clawback/core';
import { approvedChangeRecord, type ConsoleRepo, requestJson, SimDevice } from '@clawback/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollFleet, registerRelease, repoFor } from './fixtures.js';
import { startConsole, type TestConsole } from './harness.js';

describe('clawback-console operator commands', () => {
  let c: TestConsole;
  let repo: ConsoleRepo;
  let dir: string;
  const run = async (argv: string[], token = c.tokens.admin) => {
    let stdout = '';
    let stderr = '';
    const code = await runProgram(consoleProgram, [...argv, '--url', c.url], {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: (s: string) => (stderr += s) },
      env: { CLAWBACK_QUIET: '1', CLAWBACK_CONSOLE_TOKEN: token },
      cwd: dir,
    });
    return { code, stdout, stderr, json: () => JSON.parse(stdout) };
  };
  beforeAll(async () => {
    c = await startConsole('pglite');
    repo = await repoFor(c);
    dir = await mkdtemp(join(tmpdir(), 'clawback-cli-ops-'));
  });
  afterAll(async () => {
    await c?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('retires a device and re-binds its id to a new key', async () => {
    const [d] = await enrollFleet(c, 1, () => ({ id: 'ops-dev' }));
    const retired = await run(['device', 'retire', 'ops-dev', '--reason', 'returned', '--json']);
    expect(retired.code).toBe(0);
    expect(retired.json()).toMatchObject({ deviceId: 'ops-dev', status: 'retired', changed: true });
    expect((await d?.checkin(c.url))?.body).toMatchObject({ error: { code: 'DEVICE_RETIRED' } });
    // A viewer may not; an unknown device is a clear input error.
    expect((await run(['device', 'retire', 'ops-dev'], c.tokens.viewer)).code).toBe(1);
    expect((await run(['device', 'retire', 'nope'])).code).toBe(3);

    const fresh = new SimDevice({ id: 'ops-dev', now: c.clock.now });
    await writeFile(join(dir, 'new.pub.json'), encodePublicKeyFile(fresh.signer.publicKey));
    const rebound = await run(['device', 'rebind', 'ops-dev', '--public-key', 'new.pub.json', '--json']);
    expect(rebound.code).toBe(0);
    expect(rebound.json()).toMatchObject({ status: 'active', keyid: fresh.signer.keyid });
    expect((await fresh.checkin(c.url)).status).toBe(200);
    const again = await run(['device', 'rebind', 'ops-dev', '--public-key', 'new.pub.json']);
    expect([again.code, again.stderr]).toEqual([5, expect.stringContaining('DEVICE_KEY_CONFLICT')]);
    expect((await run(['device', 'rebind', 'ops-dev', '--public-key', 'missing.json'])).code).not.toBe(0);
  });

  it('lists and revokes API and enrollment tokens over the API', async () => {
    const made = await requestJson(
      c.url,
      'POST',
      '/api/v1/tokens',
      { name: 'ci', role: 'viewer' },
      c.tokens.admin,
    );
    const ci = (made.body as { token: string }).token;
    expect((await requestJson(c.url, 'GET', '/api/v1/rollouts', undefined, ci)).status).toBe(200);
    const list = await run(['token', 'list', '--json']);
    expect(list.json().tokens).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'ci', role: 'viewer', revoked: false })]),
    );
    expect(list.stdout).not.toContain(ci);
    expect((await run(['token', 'revoke', '--name', 'ci'])).code).toBe(0);
    expect((await requestJson(c.url, 'GET', '/api/v1/rollouts', undefined, ci)).status).toBe(401);
    const twice = await run(['token', 'revoke', '--name', 'ci']);
    expect([twice.code, twice.stderr]).toEqual([3, expect.stringContaining('CONSOLE_NOT_FOUND')]);

    const et = await requestJson(
      c.url,
      'POST',
      '/api/v1/enrollment-tokens',
      { name: 'site-x' },
      c.tokens.admin,
    );
    const enrollToken = (et.body as { token: string }).token;
    expect((await run(['enroll-token', 'list', '--json'])).json().tokens).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'site-x', revoked: false, uses: 0 })]),
    );
    const revoked = await run(['enroll-token', 'revoke', '--name', 'site-x', '--json']);
    expect([revoked.code, revoked.json()]).toEqual([0, { revoked: 'site-x', tokens: 1 }]);
    const late = await new SimDevice({ id: 'ops-late', now: c.clock.now }).enroll(c.url, enrollToken);
    expect(late.body).toMatchObject({ error: { code: 'ENROLLMENT_TOKEN_INVALID' } });
    expect((await run(['enroll-token', 'revoke', '--name', 'site-x'])).code).toBe(3);
  });

  it('attaches a change record (refusing one for another bundle), lists releases, a rollout’s devices, failures and alerts', async () => {
    const rel = await registerRelease(c, repo, '3.0.0', { withRecord: false });
    const listed = await run(['release', 'list', '--json']);
    expect(listed.json().releases).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: rel.id, version: '3.0.0' })]),
    );
    const other = await approvedChangeRecord(
      { name: rel.targetPath, sha256: 'e'.repeat(64) },
      c.releaseSigner,
    );
    await writeFile(join(dir, 'other.json'), JSON.stringify(other));
    const refused = await run(['release', 'attach-record', rel.id, '--change-record', 'other.json']);
    expect([refused.code, refused.stderr]).toEqual([
      1,
      expect.stringContaining('RELEASE_CHANGE_RECORD_MISMATCH'),
    ]);
    const good = await approvedChangeRecord({ name: rel.targetPath, sha256: rel.sha256 }, c.releaseSigner);
    await writeFile(join(dir, 'good.json'), JSON.stringify(good));
    expect((await run(['release', 'attach-record', rel.id, '--change-record', 'good.json'])).code).toBe(0);

    const devices = await enrollFleet(c, 3, (i) => ({ id: `ops-ro-${i}`, tags: ['site:ops'] }));
    const ro = await requestJson(
      c.url,
      'POST',
      '/api/v1/rollouts',
      {
        releaseId: rel.id,
        selector: { tags: ['site:ops'] },
        stages: [
          { name: 'canary', devices: 1 },
          { name: 'all', percent: 100 },
        ],
      },
      c.tokens.rm,
    );
    expect(ro.status).toBe(201);
    const id = (ro.body as { id: string }).id;
    expect((await requestJson(c.url, 'POST', `/api/v1/rollouts/${id}/start`, {}, c.tokens.rm)).status).toBe(
      200,
    );
    const rd = await run(['rollout', 'devices', id, '--json']);
    expect(rd.code).toBe(0);
    const targets = rd.json().devices as { deviceId: string; stage: number; status: string }[];
    expect(targets.filter((t) => t.stage === 0 && t.status === 'offered')).toHaveLength(1);
    expect(targets.map((t) => t.deviceId)).toEqual(expect.arrayContaining(devices.map((d) => d.id)));
    expect((await run(['rollout', 'devices', 'ro_nope'])).code).toBe(3);

    // The canary fails: the failure names the version; the halt raises an alert.
    const canary = devices.find((d) => d.id === targets.find((t) => t.stage === 0)?.deviceId) as SimDevice;
    expect(
      (
        await canary.report(c.url, {
          outcome: 'rolled-back',
          stage: 'probation',
          rolloutId: id,
          to: { version: '3.0.0' },
          reasonCode: 'HEALTH_CHECK_FAILED',
        })
      ).status,
    ).toBe(201);
    const failures = await run(['failure', 'list', '--json']);
    expect(failures.json().failures[0]).toMatchObject({
      deviceId: canary.id,
      version: '3.0.0',
      outcome: 'rolled-back',
    });
    const alerts = await run(['alert', 'list', '--json']);
    expect(alerts.json().alerts.map((a: { kind: string }) => a.kind)).toEqual(
      expect.arrayContaining(['rollout.halted']),
    );
    expect((await run(['alert', 'list'])).stdout).toContain('halted');
  });

  it('shows the audit trail and exports it from the running console, verifiable offline', async () => {
    const shown = await run(['audit', 'show', '--limit', '5', '--json']);
    expect(shown.json().entries).toHaveLength(5);
    const out = await run(['audit', 'export', '--out', 'console-audit.jsonl', '--json']);
    expect(out.code).toBe(0);
    const report = await verifyAuditLog(join(dir, 'console-audit.jsonl'), {
      trustedKeys: [c.server.ctx.signer.publicKey],
    });
    expect(report.ok).toBe(true);
    expect(report.warnings).toEqual([]);
    expect(report.checkpoint.status).toBe('verified');
    const wrongKey = await verifyAuditLog(join(dir, 'console-audit.jsonl'), {
      trustedKeys: [generateKeyPair().publicKey],
    });
    expect(wrongKey.ok).toBe(false);
  });
});
