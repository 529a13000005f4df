import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParamflowError } from '../../util/errors.js';
import { writeFileAtomically } from '../../util/atomic-write.js';
import type { TrialOutcome, TrialTask } from '../trial-executor.js';
import { runTrial } from '../worker.js';

/**
 * `paramflow slurm-task <dir>` (inside an array task, never by users): runs trial
 * SLURM_ARRAY_TASK_ID of `<dir>/tasks.json` as `paramflow run` would and leaves its
 * outcome in `<dir>/out/<index>.json`, written atomically: the submitter reads a
 * result only once it is whole. SIGTERM (scancel, the time limit) stops the trial.
 */
export async function runSlurmTask(dir: string): Promise<number> {
  const index = Number(process.env.SLURM_ARRAY_TASK_ID);
  if (!Number.isInteger(index) || index < 0) {
    throw new ParamflowError(
      'PF_BAD_FLAG',
      'slurm-task runs inside a Slurm array task (SLURM_ARRAY_TASK_ID is not set)',
      { location: { file: 'SLURM_ARRAY_TASK_ID' }, hint: 'use `paramflow run --executor slurm`' },
    );
  }
  const tasks = JSON.parse(await readFile(join(dir, 'tasks.json'), 'utf8')) as TrialTask[];
  const task = tasks[index];
  if (!task)
    throw new ParamflowError('PF_BAD_FLAG', `no task ${index} in ${join(dir, 'tasks.json')} (${tasks.length} tasks)`, {
      location: { file: join(dir, 'tasks.json') },
    });
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('slurm task stopped'));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  const outcome: TrialOutcome = await runTrial(task, controller.signal);
  await writeFileAtomically(join(dir, 'out', `${index}.json`), JSON.stringify(outcome) + '\n', {
    doing: "recording the trial's outcome",
  });
  return outcome.ok ? 0 : 1;
}
