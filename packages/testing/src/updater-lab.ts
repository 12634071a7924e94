// One loopback "lab" for updater tests: a real signed TUF repository with the fixture agent,
// a Range-capable server for it, a report sink standing in for the console, and the restart
// hook a test device runs. The device itself is provisioned by the test (`initDevice` lives in
// @clawback/updater, which this package must not depend on); `enroll` then tells the sink its key.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PublicKey, parsePublicKey } from '@clawback/core';
import {
  deviceConfigYaml,
  makeUpdaterRepo,
  type RangeServer,
  RESTART_HOOK_SCRIPT,
  type ReportSink,
  serveRanged,
  startReportSink,
  stopDeviceAgent,
  type UpdaterRepoFixture,
} from './updater.js';

export type DeviceConfigOptions = Parameters<typeof deviceConfigYaml>[0];

export interface UpdaterLab {
  tmp: string;
  fx: UpdaterRepoFixture;
  server: RangeServer;
  sink: ReportSink;
  /** The restart hook script (starts `current/bin/agent`, records its pid). */
  hook: string;
  /** Write `<tmp>/<name>` as an updater.yaml for this lab's repository, sink and hook. */
  writeConfig(name: string, options?: Partial<DeviceConfigOptions>): Promise<string>;
  /** Register a provisioned root's device key with the report sink, under `deviceId`. */
  enroll(root: string, deviceId: string): Promise<PublicKey>;
  /** Stop the agents of `roots`, close the servers, remove the temp directory. */
  close(roots?: readonly string[]): Promise<void>;
}

export async function startUpdaterLab(prefix: string): Promise<UpdaterLab> {
  const tmp = await mkdtemp(join(tmpdir(), prefix));
  const fx = await makeUpdaterRepo(join(tmp, 'fx'));
  const server = await serveRanged(fx.repo);
  const sink = await startReportSink();
  const hook = join(tmp, 'restart-hook.sh');
  await writeFile(hook, RESTART_HOOK_SCRIPT);
  await chmod(hook, 0o755);
  return {
    tmp,
    fx,
    server,
    sink,
    hook,
    async writeConfig(name, options = {}) {
      const path = join(tmp, name);
      await writeFile(
        path,
        deviceConfigYaml({
          repoUrl: server.url,
          releaseKeyPath: fx.releaseKeyPath,
          consoleUrl: sink.url,
          restartHook: hook,
          ...options,
        }),
      );
      return path;
    },
    async enroll(root, deviceId) {
      const key = parsePublicKey(
        await readFile(join(root, 'device-key.pub.json'), 'utf8'),
        `${deviceId} key`,
      );
      sink.enroll(deviceId, key);
      return key;
    },
    async close(roots = []) {
      for (const r of roots) await stopDeviceAgent(r);
      await server.close();
      await sink.close();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}
