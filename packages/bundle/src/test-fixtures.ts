// Fixtures for this package's own tests. @clawback/testing builds on this package, so tests here cannot
// import it without a project-reference cycle; the same sample agent lives there for everyone else.
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAgentYaml } from './agent-yaml.js';
import type { AgentSpec } from './manifest-types.js';

export const SAMPLE_AGENT_YAML = `
name: com.openclaw.sensor_parser
version: 1.4.0
entrypoint: bin/sensor-agent
agent_profile:
  identifier: com.openclaw.sensor_parser
  resource_limits: { max_working_set_mb: 50, max_cpu_percent: 15, max_secure_storage_kb: 10 }
  monitoring: { heartbeat_interval_secs: 300, anomaly_reporting: true }
health:
  probation_secs: 60
  checks:
    - type: process
    - type: heartbeat
      path: run/heartbeat
compatibility:
  hardware: [rpi4-64]
  min_updater_version: 0.1.0
policy:
  path: policies/agent.yaml
  role: sensor
`;

export function sampleAgentSpec(overrides: Partial<AgentSpec> = {}): AgentSpec {
  return { ...parseAgentYaml(SAMPLE_AGENT_YAML, 'sample agent.yaml'), ...overrides };
}

export async function writeSampleAgentDir(
  dir: string,
  extra: Record<string, string | Uint8Array> = {},
): Promise<string> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await mkdir(join(dir, 'lib', 'nested'), { recursive: true });
  await mkdir(join(dir, 'policies'), { recursive: true });
  await writeFile(join(dir, 'bin', 'sensor-agent'), '#!/bin/sh\necho sensor\n');
  await chmod(join(dir, 'bin', 'sensor-agent'), 0o755);
  await writeFile(join(dir, 'lib', 'parser.js'), 'export const parse = (s) => s.split("=");\n');
  await writeFile(join(dir, 'lib', 'nested', 'data.bin'), Buffer.alloc(70_000, 7));
  await writeFile(
    join(dir, 'policies', 'agent.yaml'),
    'version: "1"\nrules:\n  - action: "*"\n    effect: deny\n',
  );
  await symlink('lib/parser.js', join(dir, 'parser-link.js'));
  for (const [name, content] of Object.entries(extra)) await writeFile(join(dir, name), content);
  return dir;
}
