import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Layout } from '../../src/project/layout.js';
import type { Clock } from '../../src/tracking/mlflow/retry.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import type { FoldReport, MetricPoint } from '../../src/stage-contract/types.js';
import { runRecord } from './run-record.js';

/** A clock whose sleeps return at once, remembering how long they were asked to be. */
export function fakeClock(): Clock & { sleeps: number[] } {
  const sleeps: number[] = [];
  let now = Date.now();
  return {
    sleeps,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => 0.5,
  };
}

/** No backoff at all: retries happen at once (tests of the spool, not of the policy). */
export const FAST_RETRY = { retries: 2, baseDelayMs: 1, maxDelayMs: 2, max500Retries: 1, maxRetryAfterMs: 5 };

/** A temp project root with `.paramflow/`. */
export function tempLayout(): Layout {
  const root = mkdtempSync(join(tmpdir(), 'pf-mlflow-'));
  mkdirSync(join(root, '.paramflow', 'runs'), { recursive: true });
  return new Layout(root);
}

export function curve(key: string, n: number, t0 = 1_795_621_894_000): MetricPoint[] {
  return Array.from({ length: n }, (_, i) => ({ step: i, value: 1 / (i + 1), timestamp: t0 + i }));
}

export function fold(k: number, epochs = 5): FoldReport {
  return {
    fold: k,
    metrics: { 'rmse.A': 0.1 * (k + 1), 'r2.A': 0.9 },
    series: { loss: curve('loss', epochs), val_loss: curve('val_loss', epochs) },
  };
}

/** A run of the study pipeline shape: simulate → train (folds, curves) → evaluate (metrics). */
export function studyRecord(runId: string, extra: { epochs?: number; folds?: number } = {}): RunRecord {
  const r = runRecord(
    runId,
    { simulate: 'a'.repeat(64), train: 'b'.repeat(64), evaluate: 'c'.repeat(64) },
    {
      pipeline: { name: 'curve-params', file: 'pipelines/study.yaml', experiment: 'curve-params' },
      status: 'RUNNING',
      resolved: {
        name: 'curve-params',
        seed: 7,
        stages: {
          simulate: {
            uses: 'simulate',
            needs: [],
            with: { n: 100, model: 'damped-sine', x: { start: 0, stop: 10, points: 50 } },
            seed: 1,
          },
          train: {
            uses: 'train',
            needs: ['simulate'],
            with: { batch_size: 32, layers: [{ dense: { units: 8 } }], optimizer: { adam: { lr: 0.001 } } },
            seed: 2,
          },
          evaluate: { uses: 'evaluate', needs: ['train'], with: {}, seed: 3 },
        },
      },
    },
  );
  r.environment.git = { commit: 'deadbeef'.repeat(5), dirty: false };
  r.environment.backend = { name: 'cpu', reason: 'forced', tfjs: '4.22.0' };
  const folds = Array.from({ length: extra.folds ?? 2 }, (_, k) => fold(k, extra.epochs ?? 5));
  Object.assign(r.stages.train!, {
    status: 'executed',
    startedAt: '2026-11-25T10:00:00.000Z',
    durationMs: 1000,
    metrics: { val_loss_mean: 0.2 },
    folds,
    series: { lr: curve('lr', 3) },
  });
  Object.assign(r.stages.evaluate!, {
    status: 'executed',
    startedAt: '2026-11-25T10:00:01.000Z',
    durationMs: 10,
    metrics: { cv_rmse_mean: 0.15, 'rmse.A.mean': 0.15 },
  });
  Object.assign(r.stages.simulate!, {
    status: 'executed',
    startedAt: '2026-11-25T09:59:59.000Z',
    durationMs: 10,
    metrics: {},
  });
  return r;
}

/** Every file under `dir`, with its text. */
export function allFiles(dir: string): { path: string; text: string }[] {
  const out: { path: string; text: string }[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push({ path: p, text: readFileSync(p, 'latin1') });
  }
  return out;
}
