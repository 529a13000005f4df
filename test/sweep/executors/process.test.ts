import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ProcessTrialExecutor, workerThreads } from '../../../src/sweep/executors/process.js';
import { quickProject } from '../../helpers/project.js';

/** The pids of this project's sweep workers (their command line names the project). */
function workersOf(dir: string): number[] {
  return execSync('ps -eo pid=,args=')
    .toString()
    .split('\n')
    .filter((l) => l.includes('sweep-worker') && l.includes(dir))
    .map((l) => Number(l.trim().split(/\s+/)[0]));
}

/** Polls (a condition, not a duration) until `ok` holds or `ms` pass. */
async function until<T>(f: () => T, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (let v = f(); ; v = f()) {
    if (ok(v) || Date.now() > end) return v;
    await delay(50);
  }
}

describe('ProcessTrialExecutor.prepare', () => {
  it('starts the workers before the first trial; trials reuse them; close leaves none', async () => {
    const dir = quickProject();
    const executor = new ProcessTrialExecutor(dir);
    try {
      executor.prepare(2);
      const started = await until(
        () => workersOf(dir),
        (p) => p.length === 2,
      );
      expect(started).toHaveLength(2);
      const sets = ['simulate.n=120', 'simulate.x.points=20', 'train.epochs=1'];
      const tag = { sweep: 'sweep-test', trial: 't0', replicate: 0, values: {} };
      const outcomes = await Promise.all(
        [0, 1].map((i) =>
          executor.run(
            {
              file: join(dir, 'pipeline.yaml'),
              sets: [...sets, `train.batch_size=${16 * (i + 1)}`],
              tag: { ...tag, trial: `t${i}` },
              noCache: false,
              cwd: dir,
            },
            new AbortController().signal,
          ),
        ),
      );
      expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
      // The trials ran on the prepared workers: no third process was started.
      expect(workersOf(dir).sort()).toEqual([...started].sort());
    } finally {
      await executor.close();
    }
    expect(workersOf(dir)).toEqual([]);
  }, 120_000);
});

describe('worker BLAS threads', () => {
  it('each worker gets its share of the cores, at least one', () => {
    expect(workerThreads(2, 1)).toBe(2);
    expect(workerThreads(2, 2)).toBe(1);
    expect(workerThreads(2, 3)).toBe(1);
    expect(workerThreads(8, 3)).toBe(2);
    expect(workerThreads(1, 1)).toBe(1);
  });

  it.runIf(process.platform === 'linux')(
    'a worker is started with OPENBLAS_NUM_THREADS and OMP_NUM_THREADS set to that share',
    async () => {
      const dir = quickProject();
      const executor = new ProcessTrialExecutor(dir);
      try {
        executor.prepare(1);
        const [pid] = await until(
          () => workersOf(dir),
          (p) => p.length === 1,
        );
        const env = Object.fromEntries(
          readFileSync(`/proc/${pid}/environ`, 'utf8')
            .split('\0')
            .filter((kv) => kv.includes('='))
            .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
        );
        const share = `${workerThreads(availableParallelism(), 1)}`;
        expect({ blas: env.OPENBLAS_NUM_THREADS, omp: env.OMP_NUM_THREADS }).toEqual({ blas: share, omp: share });
      } finally {
        await executor.close();
      }
    },
    60_000,
  );
});
