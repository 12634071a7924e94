import { type CommandSpec, ExitCode } from '@clawback/core';

/** `clawback keys …` commands. */
export const keysCommands: CommandSpec[] = [
  {
    name: 'keys generate',
    summary: 'create an Ed25519 key pair: DIR/NAME.key (mode 0600) and DIR/NAME.pub',
    description:
      'The key id is the TUF key id: SHA-256 over the canonical JSON of the public key. Existing files are never overwritten.',
    options: {
      out: {
        type: 'string',
        valueName: 'DIR',
        description: 'directory for the key files (created if missing)',
      },
      name: { type: 'string', valueName: 'NAME', description: 'file name stem, e.g. release-1' },
    },
    exitCodes: [{ code: ExitCode.STATE, meaning: 'NAME.key or NAME.pub already exists (KEY_FILE_EXISTS)' }],
    examples: ['clawback keys generate --out keys --name release-1'],
    async run(ctx) {
      // Loaded on use so `clawback` starts without the build side's dependencies.
      const { generateKeyFiles } = await import('@clawback/sign');
      const r = await generateKeyFiles({ outDir: ctx.requireString('out'), name: ctx.requireString('name') });
      ctx.result(
        { ok: true, keyid: r.keyid, privateKey: r.privateKeyPath, publicKey: r.publicKeyPath },
        `key id ${r.keyid}\n  private: ${r.privateKeyPath} (keep secret)\n  public:  ${r.publicKeyPath}`,
      );
      return ExitCode.OK;
    },
  },
];
