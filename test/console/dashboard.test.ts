// What a release manager sees in a real browser (Debian's Chromium via playwright-core) after a
// rollout halted automatically: the halted state, the halt reason, stage progress, the failure
// rate, and the failing device's reason and health measurements.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requestJson, type SimDevice } from '@clawback/testing';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollFleet, registerRelease, repoFor } from './fixtures.js';
import { startConsole, type TestConsole } from './harness.js';

describe('dashboard in Chromium after a halted rollout', () => {
  let c: TestConsole;
  let browser: BrowserContext;
  let fleetRef: SimDevice[];
  let profile: string;
  let rolloutId: string;
  beforeAll(async () => {
    c = await startConsole('pglite');
    const repo = await repoFor(c);
    const fleet: SimDevice[] = await enrollFleet(c, 6, (i) => ({ hardwareId: i < 3 ? 'rpi4' : 'rpi5' }));
    const rel = await registerRelease(c, repo, '3.1.0', { hardwareIds: ['rpi4', 'rpi5'] });
    const created = await requestJson(
      c.url,
      'POST',
      '/api/v1/rollouts',
      {
        releaseId: rel.id,
        name: 'sensor parser 3.1',
        stages: [
          { name: 'canary', devices: 2, maxFailures: 0 },
          { name: 'rest', percent: 100 },
        ],
      },
      c.tokens.rm,
    );
    rolloutId = (created.body as { id: string }).id;
    await requestJson(c.url, 'POST', `/api/v1/rollouts/${rolloutId}/start`, {}, c.tokens.rm);
    const canaries = [];
    for (const d of fleet) {
      const r = await d.checkin(c.url);
      if ((r.body as { desired: { rolloutId: string } | null } | null)?.desired?.rolloutId === rolloutId)
        canaries.push(d);
    }
    const [first] = canaries as [SimDevice];
    await first.report(c.url, {
      outcome: 'rolled-back',
      rolloutId,
      stage: 'probation',
      to: { version: '3.1.0' },
      reasonCode: 'RESOURCE_LIMIT_EXCEEDED',
      reason: 'working set 81.5 MiB above max_working_set_mb 50',
      health: [
        { check: 'rss', ok: false, measured: 81.5, limit: 50, unit: 'MiB', message: 'over limit' },
        { check: 'cpu', ok: true, measured: 12, limit: 80, unit: '%' },
      ],
    });
    profile = await mkdtemp(join(tmpdir(), 'clawback-chromium-'));
    fleetRef = fleet;
    // A fresh profile directory per run (playwright passes it as --user-data-dir).
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await c?.close();
    if (profile) await rm(profile, { recursive: true, force: true });
  });

  it('asks for a token, refuses a wrong one, then shows the halted rollout and the failure', async () => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    // No external assets: every request the page makes goes to the console itself.
    page.on('request', (r) => {
      if (!r.url().startsWith(c.url)) blocked.push(r.url());
    });
    await page.goto(`${c.url}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=token]', 'cbt_wrong');
    await page.click('button[type=submit]');
    expect(await page.getByRole('alert').textContent()).toContain('not valid');
    await page.fill('input[name=token]', c.tokens.rm);
    await page.click('button[type=submit]');
    await page.waitForSelector('#rollouts');
    expect(await page.textContent('header')).toContain('signed in as rm (release-manager)');

    const row = page.locator(`tr[data-rollout="${rolloutId}"]`);
    expect(await row.locator('.state').textContent()).toBe('halted');
    expect(await row.locator('.halt-reason').textContent()).toContain(
      'stage 0 (canary): 1 of 2 device(s) failed',
    );
    expect(await row.locator('.failure-rate').textContent()).toContain('100.0%');
    expect(await row.locator('[data-stage="0"]').textContent()).toContain('0/2 committed, 1 failed (max 0)');
    expect(await row.locator('[data-stage="1"]').textContent()).toContain('0/4 committed');
    expect(await row.textContent()).toContain('release manager rm');

    const failure = page.locator('#failures tbody tr').first();
    expect(await failure.textContent()).toContain('rolled-back at probation');
    expect(await failure.textContent()).toContain('RESOURCE_LIMIT_EXCEEDED');
    expect(await failure.locator('.health').textContent()).toContain('✗ rss 81.5/50 MiB');
    expect(await failure.locator('.health').textContent()).toContain('✓ cpu 12/80 %');

    expect(await page.locator('#fleet tbody tr').count()).toBe(6);
    const failing = await page.locator('#fleet tbody tr:has(.h-failing)').count();
    expect(failing).toBe(1);
    // The little script ran (relative times) under the page's CSP.
    expect(await page.locator('#fleet time').first().textContent()).toMatch(/ago$/);
    expect(blocked).toEqual([]);
    await page.close();
  });

  it('shows device-supplied text as text, never as markup', async () => {
    const evil = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>';
    const device = fleetRef[5] as SimDevice;
    c.clock.advance(1000);
    expect(
      (
        await device.report(c.url, {
          outcome: 'failed',
          stage: 'download',
          reasonCode: 'DISK_FULL',
          reason: evil,
        })
      ).status,
    ).toBe(201);
    const page = await browser.newPage();
    await page.goto(`${c.url}/`);
    await page.waitForSelector('#failures');
    expect(await page.locator('#failures tbody tr').first().textContent()).toContain(evil);
    expect(await page.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('#failures img').count()).toBe(0);
    await page.close();
  });
});
