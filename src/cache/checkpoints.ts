import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CheckpointStore } from '../stage-contract/types.js';
import { crashPoint } from '../util/crash.js';
import { ensureDir } from '../util/storage-errors.js';
import { writeHashed } from './entry-writer.js';
import { envNumber } from '../util/env-vars.js';
import type { Layout } from '../project/layout.js';

const COMPLETE = 'CHECKPOINT_COMPLETE';

// A stage's resumable progress under `.paramflow/checkpoints/<key>/`. Each save is a
// whole new folder renamed over the old one, so a crash leaves the previous checkpoint
// or the new one, never a mix. Only one process computes a key at a time (its lock).
export class FolderCheckpoints implements CheckpointStore {
  private lastSave = Date.now();

  constructor(
    private readonly layout: Layout,
    private readonly key: string,
    /** At most one save per this many ms (PARAMFLOW_CHECKPOINT_SECONDS, default 10 s; 0: every epoch). */
    private readonly intervalMs = checkpointInterval(),
  ) {}

  due(): boolean {
    return Date.now() - this.lastSave >= this.intervalMs;
  }

  private get dir(): string {
    return this.layout.checkpoint(this.key);
  }

  async load(): Promise<Record<string, Uint8Array> | undefined> {
    let names: string[];
    try {
      names = (await readdir(this.dir, { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(this.dir.length + 1));
    } catch {
      return undefined;
    }
    if (!names.includes(COMPLETE)) return undefined;
    const out: Record<string, Uint8Array> = {};
    for (const n of names) if (n !== COMPLETE) out[n.split('\\').join('/')] = await readFile(join(this.dir, n));
    return out;
  }

  async save(files: Record<string, Uint8Array>): Promise<void> {
    await ensureDir(this.layout.checkpointsDir, 'saving a checkpoint');
    const tmp = join(this.layout.checkpointsDir, `.${this.key}.${process.pid}.${randomBytes(4).toString('hex')}`);
    const budget = { written: 0 };
    try {
      for (const [rel, bytes] of Object.entries(files)) {
        await mkdir(dirname(join(tmp, rel)), { recursive: true });
        await writeHashed(join(tmp, rel), [bytes], budget);
        crashPoint('checkpoint-partial');
      }
      await writeHashed(join(tmp, COMPLETE), [Buffer.from('ok\n')], budget);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
    const old = `${tmp}.old`;
    await rename(this.dir, old).catch(() => undefined);
    crashPoint('checkpoint-swap');
    await rename(tmp, this.dir);
    await rm(old, { recursive: true, force: true });
    this.lastSave = Date.now();
  }

  async clear(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

function checkpointInterval(): number {
  // A bad value is refused (exit 2, named), never taken as "no checkpoints" (util/env-vars.ts).
  return envNumber('PARAMFLOW_CHECKPOINT_SECONDS', 10) * 1000;
}
