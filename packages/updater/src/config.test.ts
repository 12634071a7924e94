import { isClawbackError } from '@clawback/core';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseUpdaterConfig } from './config.js';

const good = `
device_id: edge-0042
agent: com.openclaw.sensor_parser
channel: stable
hardware_id: rpi4-64
repository: { metadata_url: https://updates.example/metadata/, targets_url: https://updates.example/targets }
release_keys: [keys/release.pub]
threshold: 1
provenance: { repository: acme/agents, workflow: .github/workflows/release.yml, ref: 'refs/tags/v.*' }
console: { url: https://console.example }
restart_hook: systemctl restart openclaw-agent
health: { pid_file: /run/openclaw/agent.pid, checks: [ { type: http, url: 'http://127.0.0.1:8080/healthz' } ] }
`;

describe('parseUpdaterConfig', () => {
  it('reads the documented format', () => {
    const c = parseUpdaterConfig(parse(good));
    expect(c).toMatchObject({
      deviceId: 'edge-0042',
      repository: {
        metadataUrl: 'https://updates.example/metadata',
        targetsUrl: 'https://updates.example/targets',
      },
      restartHook: ['/bin/sh', '-c', 'systemctl restart openclaw-agent'],
      health: {
        maxBootAttempts: 3,
        pidFile: '/run/openclaw/agent.pid',
        checks: [{ type: 'http', expectStatus: 200 }],
      },
    });
  });

  it('accepts the shipped example (examples/systemd/updater.yaml)', async () => {
    const { readFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const text = await readFile(
      join(import.meta.dirname, '..', '..', '..', 'examples', 'systemd', 'updater.yaml'),
      'utf8',
    );
    const c = parseUpdaterConfig(parse(text));
    expect(c).toMatchObject({
      agent: 'com.openclaw.sensor_parser',
      restartHook: ['/usr/local/bin/restart-agent'],
    });
  });

  it('reports every bad field at once with its path', () => {
    const err = (() => {
      try {
        parseUpdaterConfig(
          parse(
            'device_id: "bad id"\nrepository: { metadata_url: ftp://x }\nthreshold: 3\nrelease_keys: [a]\nhealth: { checks: [ { type: smoke } ] }\n',
          ),
        );
      } catch (e) {
        return e;
      }
    })();
    expect(isClawbackError(err, 'UPDATER_CONFIG_INVALID')).toBe(true);
    const problems = (err as { details: { problems: string[] } }).details.problems.join('\n');
    for (const p of [
      'device_id:',
      'agent:',
      'channel:',
      'hardware_id:',
      'repository.metadata_url:',
      'repository.targets_url:',
      'threshold:',
      'provenance:',
      'health.checks[0].type:',
    ]) {
      expect(problems).toContain(p);
    }
  });
});
