/**
 * Turning a verified manifest's `health` and `agent_profile` into the probation plan the
 * device runs (pure). Manifest paths are relative to the slot; a `process` check follows
 * the pid file the device configuration names, since only the daemon knows the pid.
 */
import type { Manifest } from '@clawback/bundle';
import type { HealthCheckSpec, UpdaterConfig } from './config.js';
import type { ProbationPlan } from './state.js';

export function probationPlanOf(manifest: Manifest, config: UpdaterConfig): ProbationPlan {
  const limits = manifest.agent_profile.resource_limits;
  const checks: HealthCheckSpec[] = [];
  manifest.health.checks.forEach((c, i) => {
    const name = `manifest.${c.type}${manifest.health.checks.length > 1 ? `[${i}]` : ''}`;
    switch (c.type) {
      case 'exec':
        checks.push({ type: 'exec', name, command: c.command, timeoutSecs: c.timeout_secs });
        break;
      case 'http':
        checks.push({
          type: 'http',
          name,
          url: c.url,
          expectStatus: c.expect_status,
          timeoutSecs: c.timeout_secs,
        });
        break;
      case 'heartbeat':
        checks.push({ type: 'heartbeat', name, path: c.path, maxAgeSecs: c.max_age_secs });
        break;
      case 'process':
        // Liveness is sampled through the whole window when health.pid_file is set; without
        // it the check must still be visible, and fails, rather than pass unmeasured.
        if (!config.health.pidFile)
          checks.push({ type: 'process', name, pidFile: '/nonexistent/clawback-no-pid-file' });
        break;
    }
  });
  return {
    windowSecs: manifest.health.probation_secs,
    maxWorkingSetMb: limits.max_working_set_mb,
    maxCpuPercent: limits.max_cpu_percent,
    heartbeatIntervalSecs: manifest.agent_profile.monitoring.heartbeat_interval_secs,
    checks,
  };
}
