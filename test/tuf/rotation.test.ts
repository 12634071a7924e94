import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePrivateKeyFile, type KeyPair, signerFromKeyPair } from '@clawback/core';
import { rotateKeys, signTufMetadata } from '@clawback/sign';
import { writeKeyFiles } from '@clawback/testing';
import { Metadata, MetadataKind, Root, Timestamp } from '@tufjs/models';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, makeHarness } from './harness.js';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  throw new Error('expected a rejection');
}

async function keyFile(dir: string, name: string, pair: KeyPair): Promise<string> {
  const path = join(dir, `${name}.offline.key`);
  await writeFile(path, encodePrivateKeyFile(pair));
  return path;
}

type J = Parameters<typeof Metadata.fromJSON>[1];
const readJson = async (path: string) => JSON.parse(await readFile(path, 'utf8')) as J;

describe('key rotation as a device sees it', () => {
  let h: Harness;
  let empty: string;
  let refs: Record<string, string>;
  beforeAll(async () => {
    h = await makeHarness();
    // Offline keys are handed over explicitly; the keys directory the rotation reads holds none.
    empty = join(h.dir, 'no-keys');
    const offline = join(h.dir, 'offline');
    const fresh = join(h.dir, 'new-keys');
    const k = h.ceremony.keys;
    k['root-4'] = await writeKeyFiles(fresh, 'root-4');
    k['online-2'] = await writeKeyFiles(fresh, 'online-2');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(offline, { recursive: true });
    await mkdir(empty, { recursive: true });
    refs = {};
    for (const [name, pair] of Object.entries(k)) refs[name] = await keyFile(offline, name, pair);
  });
  afterAll(async () => h.close());

  const id = (name: string) => (h.ceremony.keys[name] as KeyPair).publicKey.keyid;
  const pub = (name: string) => ({ key: (h.ceremony.keys[name] as KeyPair).publicKey, name });

  it('needs a threshold of the old AND the new root keys', async () => {
    const base = {
      repo: h.repo,
      role: 'root' as const,
      add: [pub('root-4')],
      remove: [id('root-1')],
      keysDir: empty,
      now: h.t0,
    };
    const online = [refs.online as string];
    // Only new-root keys (root-2 is in both, root-4 is new): old threshold 2 not met.
    expect(
      await code(
        rotateKeys({ ...base, rootKeyRefs: [refs['root-2'], refs['root-4']] as string[], keyRefs: online }),
      ),
    ).toBe('TUF_KEY_MISSING');
    // Only old-root keys that leave: new threshold not met.
    expect(
      await code(
        rotateKeys({ ...base, rootKeyRefs: [refs['root-1'], refs['root-2']] as string[], keyRefs: online }),
      ),
    ).toBe('TUF_KEY_MISSING');
    const v2 = await rotateKeys({
      ...base,
      rootKeyRefs: [refs['root-1'], refs['root-2'], refs['root-4']] as string[],
      keyRefs: online,
    });
    expect(v2.rootVersion).toBe(2);
  });

  it('a device pinned to root v1 follows v1 → v2 → v3 and refuses the removed keys', async () => {
    const v3 = await rotateKeys({
      repo: h.repo,
      role: 'timestamp',
      add: [pub('online-2')],
      remove: [id('online')],
      rootKeyRefs: [refs['root-2'], refs['root-3']] as string[],
      keyRefs: [refs.online, refs['online-2']] as string[],
      keysDir: empty,
      now: h.t0,
    });
    expect(v3).toMatchObject({ rootVersion: 3, resigned: ['root', 'snapshot', 'timestamp'] });
    const device = await h.device('pinned-v1');
    const report = await device.refresh();
    expect(report.rootVersion).toBe(3);
    expect(report.rotatedRoots).toEqual([2, 3]);

    // A timestamp signed by the removed timestamp key is refused.
    const current = Metadata.fromJSON(
      MetadataKind.Timestamp,
      await readJson(join(h.repo, 'metadata', 'timestamp.json')),
    );
    const forged = new Metadata(
      new Timestamp({
        version: current.signed.version + 1,
        specVersion: current.signed.specVersion,
        expires: current.signed.expires,
        snapshotMeta: current.signed.snapshotMeta,
      }),
    );
    await signTufMetadata(forged, [signerFromKeyPair(h.ceremony.keys.online as KeyPair)]);
    h.server.override('/metadata/timestamp.json', JSON.stringify(forged.toJSON()));
    expect(await code(device.refresh())).toBe('TUF_METADATA_INVALID');
    h.server.clearOverrides();

    // A root v4 signed with the removed root key (plus one valid key) does not meet the threshold.
    const v3root = Metadata.fromJSON(
      MetadataKind.Root,
      await readJson(join(h.repo, 'metadata', '3.root.json')),
    );
    const rootJson = v3root.signed.toJSON();
    const v4 = new Metadata(Root.fromJSON({ ...rootJson, version: 4 }));
    await signTufMetadata(
      v4,
      [h.ceremony.keys['root-1'], h.ceremony.keys['root-4']].map((k) => signerFromKeyPair(k as KeyPair)),
    );
    h.server.override('/metadata/4.root.json', JSON.stringify(v4.toJSON()));
    expect(await code(device.refresh())).toBe('TUF_METADATA_INVALID');
    h.server.clearOverrides();
    expect((await device.refresh()).rootVersion).toBe(3);
  });

  it('walks at most maxRootRotations root versions per refresh', async () => {
    const rootKeys = [refs['root-2'], refs['root-3'], refs['root-4']] as string[];
    for (const threshold of [3, 2]) {
      await rotateKeys({
        repo: h.repo,
        role: 'root',
        threshold,
        rootKeyRefs: rootKeys,
        keysDir: empty,
        now: h.t0,
        keyRefs: [refs.online, refs['online-2']] as string[],
      });
    }
    const device = await h.device('capped', { maxRootRotations: 2 });
    expect((await device.refresh()).rootVersion).toBe(3);
    const again = await device.refresh();
    expect(again.rootVersion).toBe(5);
    expect(again.rotatedRoots).toEqual([4, 5]);
  });
});
