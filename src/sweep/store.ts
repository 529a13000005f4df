import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layout } from '../project/layout.js';
import { ParamflowError } from '../util/errors.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { isOwnerDead } from '../util/process-alive.js';
import { redactDeep } from '../util/redact.js';
import { asKilled, type SweepRecord } from '../tracking/sweep-record.js';

// Sweeps live beside runs: `.paramflow/sweeps/<sweep-id>/sweep.json`, replaced atomically.
export class SweepStore {
  constructor(readonly layout: Layout) {}

  private dir(id: string): string {
    return this.layout.sweep(id);
  }

  // Stored redacted (the live record keeps the `--set` texts its trials run with), and
  // redacted again on read for records written before.
  async write(r: SweepRecord): Promise<void> {
    await mkdir(this.dir(r.sweepId), { recursive: true });
    await writeFileAtomically(join(this.dir(r.sweepId), 'sweep.json'), JSON.stringify(redactDeep(r), null, 2) + '\n', {
      doing: 'recording the sweep',
      fault: 'sweep-write',
    });
  }

  async list(): Promise<SweepRecord[]> {
    const ids = await readdir(this.layout.sweepsDir).catch(() => [] as string[]);
    const out: SweepRecord[] = [];
    for (const id of ids
      .filter((n) => !n.startsWith('.'))
      .sort()
      .reverse()) {
      try {
        const r = redactDeep(JSON.parse(await readFile(join(this.dir(id), 'sweep.json'), 'utf8')) as SweepRecord);
        if (r.status === 'RUNNING' && isOwnerDead(r)) {
          const killed = asKilled(r);
          // Recorded, so that every later reader agrees (best effort: a read-only store still shows it).
          await this.write(killed).catch(() => undefined);
          out.push(killed);
        } else {
          out.push(r);
        }
      } catch {
        // a sweep killed before its first write: nothing to show
      }
    }
    return out;
  }

  /** A sweep id prefix; the newest sweep when `ref` is undefined. */
  async resolve(ref: string | undefined): Promise<SweepRecord> {
    const all = await this.list();
    const found = ref === undefined ? all.slice(0, 1) : all.filter((s) => s.sweepId.startsWith(ref));
    if (found.length === 1) return found[0]!;
    throw new ParamflowError(
      'PF_BAD_REF',
      found.length === 0
        ? `no sweep matches \`${ref ?? ''}\``
        : `\`${ref}\` matches ${found.length} sweeps: ${found.map((s) => s.sweepId).join(', ')}`,
      {
        location: { file: '<command line>' },
        hint: '`paramflow runs --sweeps` lists the sweeps',
      },
    );
  }
}
