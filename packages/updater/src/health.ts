/**
 * Probation: the health checks of design §6, run against the trial slot for the
 * probation window. Samples process liveness and RSS of the agent's process tree on an
 * interval (failing fast), averages CPU over the window, then runs the exec, HTTP and
 * heartbeat checks. Every result keeps its measurement for the report.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { HealthCheckSpec } from './config.js';
import { UpdaterErrors } from './errors.js';
import { clockTicksPerSecond, processAlive, sampleProcessTree } from './proc.js';
import type { HealthResult } from './state.js';

export interface ProbationOptions {
  slotDir: string;
  /** Relative paths in device-config checks resolve against the device root. */
  root: string;
  windowSecs: number;
  sampleIntervalSecs: number;
  pidFile: string | null;
  maxWorkingSetMb: number | null;
  maxCpuPercent: number | null;
  heartbeatIntervalSecs: number | null;
  /** Checks from the device config (paths relative to the root). */
  deviceChecks: HealthCheckSpec[];
  /** Checks from the manifest (paths relative to the slot). */
  manifestChecks: HealthCheckSpec[];
  signal?: AbortSignal;
  now?: () => number;
  procRoot?: string;
}

export interface ProbationResult {
  ok: boolean;
  results: HealthResult[];
  /** Set when not ok: the code of the first failing check. */
  failure: { code: string; message: string } | null;
  elapsedMs: number;
}

const MiB = 1024 * 1024;

async function readPid(pidFile: string): Promise<number | null> {
  try {
    const pid = Number.parseInt((await readFile(pidFile, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function result(
  check: string,
  ok: boolean,
  measured: HealthResult['measured'],
  limit: HealthResult['limit'],
  unit: string | null,
  message: string,
): HealthResult {
  return { check, ok, measured, limit, unit, message };
}

export async function runProbation(o: ProbationOptions): Promise<ProbationResult> {
  const clock = o.now ?? Date.now;
  const started = clock();
  const procRoot = o.procRoot ?? '/proc';
  const results: HealthResult[] = [];
  const fail = (r: HealthResult, code: string): ProbationResult => {
    results.push(r);
    return {
      ok: false,
      results,
      failure: { code, message: `${r.check}: ${r.message}` },
      elapsedMs: clock() - started,
    };
  };

  const pid = o.pidFile ? await readPid(o.pidFile) : null;
  const windowMs = Math.max(0, o.windowSecs * 1000);
  const intervalMs = Math.max(10, o.sampleIntervalSecs * 1000);
  let peakRss = 0;
  let firstTicks: { ticks: number; at: number } | null = null;
  let lastTicks: { ticks: number; at: number } | null = null;

  if (o.pidFile) {
    for (;;) {
      const alive = pid !== null && (await processAlive(pid, procRoot));
      const sample = alive && pid !== null ? await sampleProcessTree(pid, procRoot) : null;
      if (!sample) {
        return fail(
          result(
            'process',
            false,
            pid,
            null,
            'pid',
            pid === null ? `no pid in ${o.pidFile}` : `process ${pid} is not running`,
          ),
          UpdaterErrors.HEALTH_CHECK_FAILED,
        );
      }
      peakRss = Math.max(peakRss, sample.rssBytes);
      const at = clock();
      firstTicks ??= { ticks: sample.cpuTicks, at };
      lastTicks = { ticks: sample.cpuTicks, at };
      if (o.maxWorkingSetMb !== null && sample.rssBytes > o.maxWorkingSetMb * MiB) {
        const mb = round(sample.rssBytes / MiB);
        return fail(
          result(
            'rss',
            false,
            mb,
            o.maxWorkingSetMb,
            'MiB',
            `process tree of ${pid} uses ${mb} MiB, limit ${o.maxWorkingSetMb} MiB (max_working_set_mb)`,
          ),
          UpdaterErrors.RESOURCE_LIMIT_EXCEEDED,
        );
      }
      if (at - started >= windowMs) break;
      await sleep(
        Math.min(intervalMs, windowMs - (at - started)),
        undefined,
        o.signal ? { signal: o.signal } : {},
      );
    }
    results.push(result('process', true, pid, null, 'pid', `process ${pid} alive for the whole window`));
    if (o.maxWorkingSetMb !== null) {
      const mb = round(peakRss / MiB);
      results.push(result('rss', true, mb, o.maxWorkingSetMb, 'MiB', `peak ${mb} MiB over the window`));
    }
    if (o.maxCpuPercent !== null && firstTicks && lastTicks) {
      const hz = await clockTicksPerSecond();
      const secs = (lastTicks.at - firstTicks.at) / 1000;
      const pct = secs > 0 ? round(((lastTicks.ticks - firstTicks.ticks) / hz / secs) * 100) : 0;
      const r = result(
        'cpu',
        pct <= o.maxCpuPercent,
        pct,
        o.maxCpuPercent,
        'percent',
        `average ${pct}% of one core over ${round(secs)} s`,
      );
      if (!r.ok) return fail(r, UpdaterErrors.RESOURCE_LIMIT_EXCEEDED);
      results.push(r);
    }
  } else {
    if (windowMs > 0) await sleep(windowMs, undefined, o.signal ? { signal: o.signal } : {});
    if (o.maxWorkingSetMb !== null || o.maxCpuPercent !== null) {
      results.push(
        result('resources', true, null, null, null, 'not measured: no health.pid_file configured'),
      );
    }
  }

  const checks = [
    ...o.manifestChecks.map((c) => ({ c, base: o.slotDir })),
    ...o.deviceChecks.map((c) => ({ c, base: o.root })),
  ];
  for (const { c, base } of checks) {
    const r = await runCheck(c, base, o, clock);
    if (!r.ok) return fail(r, UpdaterErrors.HEALTH_CHECK_FAILED);
    results.push(r);
  }
  return { ok: true, results, failure: null, elapsedMs: clock() - started };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

async function runCheck(
  c: HealthCheckSpec,
  base: string,
  o: ProbationOptions,
  clock: () => number,
): Promise<HealthResult> {
  switch (c.type) {
    case 'exec':
      return runExec(c, o.slotDir);
    case 'http': {
      try {
        const { default: got } = await import('got');
        const res = await got(c.url, {
          throwHttpErrors: false,
          retry: { limit: 0 },
          timeout: { request: c.timeoutSecs * 1000 },
          followRedirect: false,
        });
        const ok = res.statusCode === c.expectStatus;
        return result(
          c.name,
          ok,
          res.statusCode,
          c.expectStatus,
          'status',
          ok ? 'expected status' : `status ${res.statusCode}`,
        );
      } catch (err) {
        return result(
          c.name,
          false,
          null,
          c.expectStatus,
          'status',
          `request failed: ${(err as Error).message}`,
        );
      }
    }
    case 'heartbeat': {
      const path = isAbsolute(c.path) ? c.path : join(base, c.path);
      const maxAge = c.maxAgeSecs ?? o.heartbeatIntervalSecs;
      try {
        const ageSecs = round((clock() - (await stat(path)).mtimeMs) / 1000);
        if (maxAge === null) return result(c.name, true, ageSecs, null, 's', 'heartbeat present');
        const ok = ageSecs <= maxAge;
        return result(
          c.name,
          ok,
          ageSecs,
          maxAge,
          's',
          ok ? 'heartbeat fresh' : `heartbeat is ${ageSecs} s old, limit ${maxAge} s`,
        );
      } catch {
        return result(c.name, false, null, maxAge, 's', `heartbeat file ${path} is missing`);
      }
    }
    case 'process': {
      const pidFile = isAbsolute(c.pidFile) ? c.pidFile : join(base, c.pidFile);
      const pid = await readPid(pidFile);
      const ok = pid !== null && (await processAlive(pid, o.procRoot ?? '/proc'));
      return result(
        c.name,
        ok,
        pid,
        null,
        'pid',
        ok ? `process ${pid} alive` : `no live process in ${pidFile}`,
      );
    }
  }
}

function runExec(c: Extract<HealthCheckSpec, { type: 'exec' }>, slotDir: string): Promise<HealthResult> {
  const [file, ...args] = c.command;
  return new Promise((resolve) => {
    const started = Date.now();
    execFile(
      file as string,
      args,
      {
        cwd: slotDir,
        timeout: c.timeoutSecs * 1000,
        killSignal: 'SIGKILL',
        env: { ...process.env, CLAWBACK_SLOT_DIR: slotDir },
      },
      (err) => {
        const secs = round((Date.now() - started) / 1000);
        if (!err) return resolve(result(c.name, true, 0, 0, 'exit', `exited 0 in ${secs} s`));
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
        if (e.killed)
          return resolve(
            result(c.name, false, secs, c.timeoutSecs, 's', `timed out after ${c.timeoutSecs} s`),
          );
        resolve(
          result(
            c.name,
            false,
            typeof e.code === 'number' ? e.code : String(e.code),
            0,
            'exit',
            `exited ${String(e.code)}`,
          ),
        );
      },
    );
  });
}
