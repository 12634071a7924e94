/**
 * The on-disk report queue: one file per report, named `<sequence>-<reportId>.json`, each
 * written atomically. Enqueueing the same reportId twice is a no-op (a step re-run after a
 * crash), a report leaves the queue only after the console accepted it, and flushing goes
 * strictly in sequence order, stopping at the first failure so order is kept.
 */
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type DsseEnvelope, fsyncDir, writeFileAtomic } from '@clawback/core';

const NAME = /^(\d{10})-([A-Za-z0-9-]+)\.json$/;

export interface QueuedReport {
  seq: number;
  reportId: string;
  file: string;
}

export class ReportQueue {
  constructor(readonly dir: string) {}

  async list(): Promise<QueuedReport[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    return names
      .flatMap((n) => {
        const m = NAME.exec(n);
        return m?.[1] && m[2] ? [{ seq: Number(m[1]), reportId: m[2], file: join(this.dir, n) }] : [];
      })
      .sort((a, b) => a.seq - b.seq);
  }

  /** Append a signed report. Returns false when a report with that id is already queued. */
  async enqueue(
    reportId: string,
    envelope: DsseEnvelope,
    sentIds: ReadonlySet<string> = new Set(),
  ): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    const queued = await this.list();
    if (queued.some((q) => q.reportId === reportId) || sentIds.has(reportId)) return false;
    const seq = (queued.at(-1)?.seq ?? 0) + 1;
    const name = `${String(seq).padStart(10, '0')}-${reportId}.json`;
    await writeFileAtomic(join(this.dir, name), `${JSON.stringify(envelope)}\n`);
    return true;
  }

  async read(q: QueuedReport): Promise<DsseEnvelope> {
    return JSON.parse(await readFile(q.file, 'utf8')) as DsseEnvelope;
  }

  async remove(q: QueuedReport): Promise<void> {
    await rm(q.file, { force: true });
    await fsyncDir(this.dir);
  }
}
