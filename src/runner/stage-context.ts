import { appendFile, mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderCheckpoints } from '../cache/checkpoints.js';
import type { PlannedStage } from '../pipeline/plan.js';
import type { StageContext } from '../stage-contract/types.js';
import { crashPoint } from '../util/crash.js';
import type { ExecuteContext } from './execute-context.js';

/** The context a stage's `run` gets: its seed, progress and log lines, scratch folders, TensorFlow. */
export function stageContext(
  s: PlannedStage,
  c: ExecuteContext,
  checkpoint: FolderCheckpoints,
  scratches: string[],
): StageContext {
  const name = s.spec.name;
  const backend = c.plan.backend;
  return {
    checkpoint,
    dir: c.plan.pipeline.dir,
    scratch: async () => {
      const parent = join(c.layout.run(c.record.runId), 'work');
      await mkdir(parent, { recursive: true });
      const dir = await mkdtemp(join(parent, `${name}-`));
      scratches.push(dir);
      return dir;
    },
    tf: () => {
      if (!backend) throw new Error(`stage ${s.def.name} uses TensorFlow but does not declare usesBackend`);
      return import('../backend/load.js').then((m) => m.loadTensorflow(backend.name));
    },
    stage: name,
    seed: s.spec.seed,
    root: c.plan.pipeline.root,
    signal: c.signal,
    progress: (done: number, total: number, unit?: string) => {
      crashPoint('stage-progress', name);
      c.reporter.stageProgress(name, done, total, unit);
    },
    log: (message: string) => {
      c.reporter.stageLog(name, message);
      void appendLog(c, name, message);
    },
    fold: (event) => {
      c.reporter.stageFold?.(name, event);
      c.tracker?.fold?.(c.record, name, event);
      const watch = c.watchRung;
      if (!watch) return;
      if (event.phase === 'epoch') return watch(name, event.fold, event.epoch, event.metrics?.val_loss);
      // A fold resumed from a checkpoint: its earlier epochs, as the pruner would have seen them.
      const before = event.phase === 'start' ? event.resumed?.val_loss : undefined;
      if (before)
        return before.reduce<Promise<void>>(
          (p, v, i) => p.then(() => (c.signal.aborted ? undefined : watch(name, event.fold, i + 1, v))),
          Promise.resolve(),
        );
    },
  };
}

/** A line in the stage's log file of this run (never fails the run). */
export async function appendLog(c: ExecuteContext, stage: string, text: string): Promise<void> {
  const dir = join(c.layout.run(c.record.runId), 'logs');
  await mkdir(dir, { recursive: true }).catch(() => undefined);
  await appendFile(join(dir, `${stage}.log`), `${new Date().toISOString()} ${text}\n`).catch(() => undefined);
}
