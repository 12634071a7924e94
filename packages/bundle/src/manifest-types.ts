/**
 * The bundle manifest (design §5): what an agent release is, how to run and
 * health-check it, where it may run, and every file with its digest. Field
 * names are snake_case because operators already write `agent_profile` that way.
 */

export const MANIFEST_SCHEMA_VERSION = 1;
/** First member of every bundle tar. */
export const MANIFEST_PATH = 'clawback/manifest.json';
/** Top-level directory reserved for Clawback metadata; payload paths may not use it. */
export const RESERVED_DIR = 'clawback';
/** DSSE payloadType of the detached manifest signature. */
export const MANIFEST_PAYLOAD_TYPE = 'application/vnd.clawback.manifest+json';

export interface ResourceLimits {
  max_working_set_mb: number;
  max_cpu_percent: number;
  max_secure_storage_kb: number;
}

export interface Monitoring {
  heartbeat_interval_secs: number;
  anomaly_reporting: boolean;
}

/** `agent_profile` exactly as operators write it. */
export interface AgentProfile {
  identifier: string;
  resource_limits: ResourceLimits;
  monitoring: Monitoring;
}

export interface Entrypoint {
  /** Path of the executable inside the bundle. */
  path: string;
  args: string[];
}

export type HealthCheck =
  | { type: 'exec'; command: string[]; timeout_secs: number }
  | { type: 'http'; url: string; expect_status: number; timeout_secs: number }
  | { type: 'heartbeat'; path: string; max_age_secs: number }
  | { type: 'process' };

export interface Health {
  /** How long a new version runs on trial before it is committed. */
  probation_secs: number;
  interval_secs: number;
  checks: HealthCheck[];
}

export interface Compatibility {
  /** Hardware ids this bundle may be installed on. */
  hardware: string[];
  min_updater_version: string;
}

export interface PolicyRef {
  /** Path of the policy file inside the bundle. */
  path: string;
  sha256: string;
  role?: string;
}

export interface SourceRef {
  /** `owner/repo` or a URL. */
  repo: string;
  /** Full git commit id. */
  commit: string;
  ref: string;
}

export type FileEntry =
  | { path: string; type: 'file'; mode: number; size: number; sha256: string }
  | { path: string; type: 'directory'; mode: number }
  | { path: string; type: 'symlink'; target: string };

export interface Manifest {
  schema_version: typeof MANIFEST_SCHEMA_VERSION;
  name: string;
  version: string;
  agent_profile: AgentProfile;
  entrypoint: Entrypoint;
  health: Health;
  compatibility: Compatibility;
  policy?: PolicyRef;
  source?: SourceRef;
  /** Every payload entry, sorted by path (byte order of UTF-8). */
  files: FileEntry[];
}

/** Everything in a manifest except the file list: what agent.yaml describes. */
export type AgentSpec = Omit<Manifest, 'schema_version' | 'files' | 'policy'> & {
  policy?: { path: string; role?: string };
};
