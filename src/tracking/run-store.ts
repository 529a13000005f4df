import { copyFile, link, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Layout } from '../project/layout.js';
import { ParamflowError } from '../util/errors.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import { crashPoint } from '../util/crash.js';
import { ensureDir } from '../util/storage-errors.js';
import { redactDeep } from '../util/redact.js';
import { isOwnerDead } from '../util/process-alive.js';
import type { RunRecord } from './run-record.js';

export interface StoredRun {
  record: RunRecord;
  dir: string;
}

// The local run store, the embedded default tracker: one folder per execution, its
// run.json replaced atomically on every update so a reader never sees half a file.
// Records go through redactDeep both ways: `--set tracking.uri=http://user:pass@…` and the
// like never reach the disk, nor any output built from a record (runs, show, export, report).
export class RunStore {
  constructor(readonly layout: Layout) {}

  async write(record: RunRecord): Promise<void> {
    const dir = this.layout.run(record.runId);
    await ensureDir(dir, 'recording the run');
    crashPoint('runstore-write');
    // Every byte checked and synced before the rename: a full disk fails with PF_STORAGE
    // and leaves the previous record, never a truncated run.json.
    await writeFileAtomically(join(dir, 'run.json'), JSON.stringify(redactDeep(record), null, 2) + '\n', {
      doing: 'recording the run',
      fault: 'runstore-write',
    });
  }

  async read(runId: string): Promise<RunRecord> {
    const file = join(this.layout.run(runId), 'run.json');
    try {
      // Redacted on read too: a record written before redaction existed may hold credentials.
      return withLiveness(redactDeep(JSON.parse(await readFile(file, 'utf8')) as RunRecord));
    } catch (err) {
      throw new ParamflowError('PF_RUN_STORE', `cannot read ${file}: ${(err as Error).message}`, {
        hint: 'the run record is missing or damaged; `paramflow runs rm <id>` removes it',
        cause: err,
      });
    }
  }

  /** All readable runs, newest first; unreadable ones are reported through `onBad`. */
  async list(onBad?: (runId: string, err: unknown) => void): Promise<RunRecord[]> {
    const out: RunRecord[] = [];
    for await (const r of this.newestFirst(onBad)) out.push(r);
    return out;
  }

  /** Readable runs, newest first, read one at a time (callers may stop early). */
  async *newestFirst(onBad?: (runId: string, err: unknown) => void): AsyncGenerator<RunRecord> {
    const ids = await readdir(this.layout.runsDir).catch(() => [] as string[]);
    for (const id of ids
      .filter((n) => !n.startsWith('.'))
      .sort()
      .reverse()) {
      let record: RunRecord;
      try {
        record = await this.read(id);
      } catch (err) {
        onBad?.(id, err);
        continue;
      }
      yield record;
    }
  }

  /**
   * Keeps a stage's reports (plots, JSON outputs) in the run's folder, at
   * `artifacts/<stage>/<path>`, so a run's results stay readable after `cache gc`.
   * Hard links when possible: cache entries are never modified in place.
   */
  async keepArtifacts(runId: string, stage: string, files: readonly { path: string; file: string }[]): Promise<void> {
    // All at once: a trained model and plots are a few dozen files, each three file-system calls.
    await Promise.all(
      files.map(async (f) => {
        const dest = join(this.layout.run(runId), 'artifacts', stage, f.path);
        await mkdir(dirname(dest), { recursive: true });
        await rm(dest, { force: true });
        await link(f.file, dest).catch(() => copyFile(f.file, dest));
      }),
    );
  }

  async remove(runId: string): Promise<void> {
    const dir = this.layout.run(runId);
    const aside = join(this.layout.runsDir, `.rm-${runId}-${process.pid}`);
    try {
      await rename(dir, aside);
    } catch (err) {
      throw new ParamflowError('PF_RUN_STORE', `cannot remove run ${runId}: ${(err as Error).message}`, {
        hint: '`paramflow runs` lists the recorded runs',
        cause: err,
      });
    }
    await rm(aside, { recursive: true, force: true });
  }
}

/** A RUNNING record whose process died without saying so was killed. */
function withLiveness(r: RunRecord): RunRecord {
  if (r.status === 'RUNNING' && isOwnerDead(r)) return { ...r, status: 'KILLED' };
  return r;
}
