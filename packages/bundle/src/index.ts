export { AGENT_DEFAULTS, agentSpecFromObject, parseAgentYaml } from './agent-yaml.js';
export { allocWriteBlocks, BatchedWriter, WRITE_BATCH_BYTES, type WriteBlocks } from './batched-writer.js';
export { BundleErrors } from './errors.js';
export { type ExtractBundleOptions, extractBundle } from './extract.js';
export { type FileHash, HashPool, hashFiles } from './hash-pool.js';
export {
  decodeManifest,
  encodeManifest,
  MAX_MANIFEST_BYTES,
  manifestProblems,
  validateManifest,
} from './manifest.js';
export { readManifestMember } from './manifest-member.js';
export {
  type AgentProfile,
  type AgentSpec,
  type Compatibility,
  type Entrypoint,
  type FileEntry,
  type Health,
  type HealthCheck,
  MANIFEST_PATH,
  MANIFEST_PAYLOAD_TYPE,
  MANIFEST_SCHEMA_VERSION,
  type Manifest,
  type Monitoring,
  type PolicyRef,
  RESERVED_DIR,
  type ResourceLimits,
  type SourceRef,
} from './manifest-types.js';
export { startMemberHashing } from './member-offload.js';
export { ancestorsOf, comparePaths, MAX_PATH_LENGTH, pathProblem, symlinkTargetProblem } from './paths.js';
export {
  type BuildDefinition,
  GITHUB_PROVENANCE_ENV,
  GITHUB_WORKFLOW_BUILD_TYPE,
  type GithubProvenancePredicate,
  type GithubWorkflowExternal,
  type GithubWorkflowInternal,
  githubProvenancePredicate,
  type ProvenancePredicate,
  provenanceStatement,
  type RunDetails,
  SLSA_PROVENANCE_V1,
} from './provenance.js';
export {
  DEFAULT_READ_LIMITS,
  type EntryVisitor,
  type FileWriter,
  type ReadBundleOptions,
  type ReadBundleResult,
  type ReadLimits,
  readBundle,
} from './reader.js';
export { normalizeFileMode, type ScannedEntry, scanDirectory } from './scan.js';
export { manifestSchema } from './schema.js';
export {
  assembleManifest,
  type BuildBundleOptions,
  type BuildBundleResult,
  buildBundle,
  parseSourceDateEpoch,
} from './writer.js';
