import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Layout } from '../../src/project/layout.js';
import type { MlflowTracker, FinishResult } from '../../src/tracking/mlflow/tracker.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { RunStore } from '../../src/tracking/run-store.js';
import type { MlflowDouble } from './mlflow-double.js';
import { studyRecord } from './mlflow-kit.js';

/** Drives a tracker through a whole study run as the runner would: start, each stage, finish. */
export async function trackStudyRun(
  layout: Layout,
  runId: string,
  tracker: MlflowTracker,
  options: { epochs?: number; folds?: number; between?: (stage: string) => Promise<void> } = {},
): Promise<{ record: RunRecord; result: FinishResult }> {
  const store = new RunStore(layout);
  const record = studyRecord(runId, options);
  await store.write(record);
  const plot = join(layout.root, `plot-${runId}.png`);
  writeFileSync(plot, Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]));
  tracker.start(record);
  for (const stage of ['simulate', 'train', 'evaluate']) {
    await options.between?.(stage);
    tracker.stage(record, stage, stage === 'evaluate' ? [{ path: 'plots/pred-vs-true.png', file: plot }] : []);
  }
  record.status = 'FINISHED';
  record.endedAt = '2026-11-25T10:00:05.000Z';
  for (const s of Object.values(record.stages)) Object.assign(record.metrics, s.metrics ?? {});
  await store.write(record);
  return { record, result: await tracker.finish(record) };
}

export interface MlflowView {
  params: Record<string, string>;
  tags: Record<string, string>;
  status: string;
  histories: Record<string, [number, number, number][]>;
  artifacts: string[];
}

// Tags that name this execution rather than describe it: they differ between two runs of one pipeline.
const OWN_TAGS = ['paramflow.run_id', 'mlflow.parentRunId'];

/** The MLflow runs of one local run, keyed by scope, as comparable data. */
export function mlflowView(double: MlflowDouble, runId: string): Record<string, MlflowView> {
  const out: Record<string, MlflowView> = {};
  for (const r of double.store.runs.values()) {
    if (r.tags.get('paramflow.run_id') !== runId) continue;
    const histories: Record<string, [number, number, number][]> = {};
    for (const m of r.metrics) (histories[m.key] ??= []).push([m.step, m.timestamp, m.value]);
    out[r.tags.get('paramflow.scope') ?? '?'] = {
      params: Object.fromEntries(r.params),
      // The description names the run too: compared with the run's own id written as `<run id>`.
      tags: Object.fromEntries(
        [...r.tags]
          .filter(([k]) => !OWN_TAGS.includes(k))
          .map(([k, v]) => [k, k === 'mlflow.note.content' ? v.split(runId).join('<run id>') : v]),
      ),
      status: r.status,
      histories,
      artifacts: [...double.store.artifacts.keys()]
        .filter((k) => k.startsWith(`${r.experiment_id}/${r.run_id}/artifacts/`))
        .map((k) => k.split('/artifacts/')[1]!)
        .sort(),
    };
  }
  return out;
}

/** Waits until `check` holds (the background queue works on its own time). */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
