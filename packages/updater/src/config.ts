/**
 * Device configuration (`updater.yaml`, written by the operator at provisioning).
 * `parseUpdaterConfig` is pure: it validates the parsed document and reports every bad
 * field at once with its path (house style 5). Key files named in the YAML are read by
 * `init`, which stores the resolved configuration as `config.json` in the device root.
 */
import { ClawbackError, type PublicKeyJson } from '@clawback/core';
import { UpdaterErrors } from './errors.js';

export type HealthCheckSpec =
  | { type: 'exec'; name: string; command: string[]; timeoutSecs: number }
  | { type: 'http'; name: string; url: string; expectStatus: number; timeoutSecs: number }
  | { type: 'heartbeat'; name: string; path: string; maxAgeSecs?: number }
  | { type: 'process'; name: string; pidFile: string };

export interface ProvenancePolicyConfig {
  repository: string;
  workflow: string;
  /** A regular expression the whole source ref must match, e.g. `refs/tags/v.*`. */
  ref: string;
  /**
   * Refuse releases without a Sigstore bundle over their provenance (keyless signature made by
   * the release workflow). A bundle that is present is always verified, required or not.
   */
  requireSigstore: boolean;
  /** OIDC issuer the Fulcio certificate must name (default GitHub Actions). */
  issuer?: string;
}

export interface HealthConfig {
  /** Overrides the manifest's probation window when set. */
  probationSecs?: number;
  sampleIntervalSecs: number;
  maxBootAttempts: number;
  /** The agent's main process id, written by the daemon; RSS/CPU/process checks follow it. */
  pidFile?: string;
  checks: HealthCheckSpec[];
}

export interface UpdaterConfig {
  deviceId: string;
  agent: string;
  channel: string;
  hardwareId: string;
  /** `flatTargets`: targets served as `<sha256>.<name>` in one directory (a GitHub Release). */
  repository: { metadataUrl: string; targetsUrl: string; flatTargets: boolean };
  /** Release keys trusted to sign bundle manifests, with the k-of-n threshold. */
  releaseKeys: (PublicKeyJson | string)[];
  threshold: number;
  /** Undefined only when the operator explicitly set `provenance: none` (lab devices). */
  provenance: ProvenancePolicyConfig | null;
  console: { url: string } | null;
  /** argv run after a switch or rollback; CLAWBACK_SLOT_DIR names the new active slot. */
  restartHook: string[] | null;
  /** Versions at or below this are never installed (a floor set at provisioning). */
  minVersion: string | null;
  health: HealthConfig;
  download: { retries: number; timeoutSecs: number };
  tags: string[];
}

type Raw = Record<string, unknown>;

function isObj(v: unknown): v is Raw {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Collector {
  readonly problems: string[] = [];
  str(o: Raw, key: string, path: string, required = true): string | undefined {
    const v = o[key];
    if (v === undefined || v === null) {
      if (required) this.problems.push(`${path}${key}: is required`);
      return undefined;
    }
    if (typeof v !== 'string' || v.trim() === '') {
      this.problems.push(`${path}${key}: must be a non-empty string`);
      return undefined;
    }
    return v;
  }
  num(o: Raw, key: string, path: string, dflt: number | undefined, min = 0): number | undefined {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) {
      this.problems.push(`${path}${key}: must be a number >= ${min}`);
      return dflt;
    }
    return v;
  }
  url(o: Raw, key: string, path: string, required = true): string | undefined {
    const v = this.str(o, key, path, required);
    if (v === undefined) return undefined;
    try {
      const u = new URL(v);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      this.problems.push(`${path}${key}: must be an http(s) URL`);
      return undefined;
    }
    return v.replace(/\/+$/, '');
  }
  argv(v: unknown, path: string): string[] | undefined {
    if (typeof v === 'string' && v.trim() !== '') return ['/bin/sh', '-c', v];
    if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string' && x !== '')) {
      return v as string[];
    }
    this.problems.push(`${path}: must be a command string or a non-empty list of strings`);
    return undefined;
  }
}

function parseCheck(c: Collector, raw: unknown, i: number): HealthCheckSpec | undefined {
  const p = `health.checks[${i}].`;
  if (!isObj(raw)) {
    c.problems.push(`health.checks[${i}]: must be a mapping`);
    return undefined;
  }
  const type = raw.type;
  const name = typeof raw.name === 'string' && raw.name !== '' ? raw.name : `${String(type)}-${i}`;
  switch (type) {
    case 'exec': {
      const command = c.argv(raw.command, `${p}command`);
      const timeoutSecs = c.num(raw, 'timeout_secs', p, 10, 0.001) ?? 10;
      return command ? { type, name, command, timeoutSecs } : undefined;
    }
    case 'http': {
      const url = c.url(raw, 'url', p);
      const expectStatus = c.num(raw, 'expect_status', p, 200, 100) ?? 200;
      const timeoutSecs = c.num(raw, 'timeout_secs', p, 5, 0.001) ?? 5;
      return url ? { type, name, url, expectStatus, timeoutSecs } : undefined;
    }
    case 'heartbeat': {
      const path = c.str(raw, 'path', p);
      const maxAgeSecs = c.num(raw, 'max_age_secs', p, undefined, 0.001);
      if (path === undefined) return undefined;
      return maxAgeSecs === undefined ? { type, name, path } : { type, name, path, maxAgeSecs };
    }
    case 'process': {
      const pidFile = c.str(raw, 'pid_file', p);
      return pidFile ? { type, name, pidFile } : undefined;
    }
    default:
      c.problems.push(`${p}type: must be exec, http, heartbeat or process`);
      return undefined;
  }
}

/** Validate a parsed `updater.yaml`. Throws UPDATER_CONFIG_INVALID listing every problem. */
export function parseUpdaterConfig(doc: unknown, source = 'updater.yaml'): UpdaterConfig {
  const c = new Collector();
  if (!isObj(doc)) {
    throw new ClawbackError(UpdaterErrors.UPDATER_CONFIG_INVALID, `${source}: must be a YAML mapping`);
  }
  const deviceId = c.str(doc, 'device_id', '');
  if (deviceId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(deviceId)) {
    c.problems.push('device_id: letters, digits, ".", "_" and "-" only (max 128)');
  }
  const agent = c.str(doc, 'agent', '');
  const channel = c.str(doc, 'channel', '');
  const hardwareId = c.str(doc, 'hardware_id', '');
  const repo = isObj(doc.repository) ? doc.repository : undefined;
  if (!repo) c.problems.push('repository: is required (metadata_url, targets_url)');
  const metadataUrl = repo ? c.url(repo, 'metadata_url', 'repository.') : undefined;
  const targetsUrl = repo ? c.url(repo, 'targets_url', 'repository.') : undefined;

  const releaseKeys: (PublicKeyJson | string)[] = [];
  if (!Array.isArray(doc.release_keys) || doc.release_keys.length === 0) {
    c.problems.push('release_keys: must list at least one trusted release public key (file path or key)');
  } else {
    doc.release_keys.forEach((k, i) => {
      if (typeof k === 'string' && k !== '') releaseKeys.push(k);
      else if (isObj(k) && isObj(k.keyval) && typeof k.keyval.public === 'string')
        releaseKeys.push(k as unknown as PublicKeyJson);
      else c.problems.push(`release_keys[${i}]: must be a key file path or an ed25519 public key`);
    });
  }
  const threshold = c.num(doc, 'threshold', '', 1, 1) ?? 1;
  if (!Number.isInteger(threshold)) c.problems.push('threshold: must be a whole number');
  if (releaseKeys.length > 0 && threshold > releaseKeys.length) {
    c.problems.push(`threshold: ${threshold} is more than the ${releaseKeys.length} release key(s)`);
  }

  let provenance: ProvenancePolicyConfig | null = null;
  if (doc.provenance === 'none') {
    provenance = null;
  } else if (!isObj(doc.provenance)) {
    c.problems.push('provenance: is required (repository, workflow, ref), or "none" for lab devices');
  } else {
    const repository = c.str(doc.provenance, 'repository', 'provenance.');
    const workflow = c.str(doc.provenance, 'workflow', 'provenance.');
    const ref = c.str(doc.provenance, 'ref', 'provenance.');
    if (ref !== undefined) {
      try {
        new RegExp(ref);
      } catch {
        c.problems.push('provenance.ref: must be a valid regular expression');
      }
    }
    const rs = doc.provenance.require_sigstore;
    if (rs !== undefined && typeof rs !== 'boolean')
      c.problems.push('provenance.require_sigstore: must be true or false');
    const issuer = c.str(doc.provenance, 'issuer', 'provenance.', false);
    if (repository && workflow && ref) {
      provenance = { repository, workflow, ref, requireSigstore: rs === true, ...(issuer ? { issuer } : {}) };
    }
  }

  let consoleCfg: { url: string } | null = null;
  if (doc.console !== undefined && doc.console !== null) {
    if (!isObj(doc.console)) c.problems.push('console: must be a mapping with url');
    else {
      const url = c.url(doc.console, 'url', 'console.');
      if (url) consoleCfg = { url };
    }
  }
  const restartHook =
    doc.restart_hook === undefined || doc.restart_hook === null
      ? null
      : (c.argv(doc.restart_hook, 'restart_hook') ?? null);
  const minVersion = doc.min_version === undefined ? null : (c.str(doc, 'min_version', '') ?? null);

  const h = isObj(doc.health) ? doc.health : {};
  if (doc.health !== undefined && !isObj(doc.health)) c.problems.push('health: must be a mapping');
  const checks: HealthCheckSpec[] = [];
  if (h.checks !== undefined) {
    if (!Array.isArray(h.checks)) c.problems.push('health.checks: must be a list');
    else
      h.checks.forEach((raw, i) => {
        const chk = parseCheck(c, raw, i);
        if (chk) checks.push(chk);
      });
  }
  const probationSecs = c.num(h, 'probation_secs', 'health.', undefined, 0);
  const health: HealthConfig = {
    sampleIntervalSecs: c.num(h, 'sample_interval_secs', 'health.', 5, 0.01) ?? 5,
    maxBootAttempts: c.num(h, 'max_boot_attempts', 'health.', 3, 1) ?? 3,
    checks,
    ...(probationSecs === undefined ? {} : { probationSecs }),
    ...(typeof h.pid_file === 'string' && h.pid_file !== '' ? { pidFile: h.pid_file } : {}),
  };
  const d = isObj(doc.download) ? doc.download : {};
  const download = {
    retries: c.num(d, 'retries', 'download.', 5, 0) ?? 5,
    timeoutSecs: c.num(d, 'timeout_secs', 'download.', 60, 1) ?? 60,
  };
  const tags = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === 'string') : [];

  if (c.problems.length > 0) {
    throw new ClawbackError(
      UpdaterErrors.UPDATER_CONFIG_INVALID,
      `${source} has ${c.problems.length} problem(s): ${c.problems.join('; ')}`,
      {
        hint: 'Fix the listed fields; see docs/updater.md for the configuration format.',
        details: { problems: c.problems },
      },
    );
  }
  return {
    deviceId: deviceId as string,
    agent: agent as string,
    channel: channel as string,
    hardwareId: hardwareId as string,
    repository: {
      metadataUrl: metadataUrl as string,
      targetsUrl: targetsUrl as string,
      flatTargets: repo?.flat_targets === true,
    },
    releaseKeys,
    threshold,
    provenance,
    console: consoleCfg,
    restartHook,
    minVersion,
    health,
    download,
    tags,
  };
}
