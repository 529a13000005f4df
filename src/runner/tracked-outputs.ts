import { join } from 'node:path';
import type { Manifest } from '../cache/store.js';
import { readNpyHeader } from '../format/npy.js';
import { trainingGrid } from '../model/features.js';
import type { PlannedStage } from '../pipeline/plan.js';
import type { TrackedOutputs } from '../tracking/run-tracker.js';
import type { ExecuteContext } from './execute-context.js';
import type { StageIo } from './stage-io.js';

/**
 * What the tracker gets beside a stage's files: a trained stage's fold models with the x grid
 * they were trained on (its `model` and `scalers` outputs and its `X` input), or a data
 * stage's arrays (every output a .npy file, no folds). Read only when a tracker is on.
 */
export async function trackedOutputs(
  c: ExecuteContext,
  s: PlannedStage,
  m: Manifest,
  io: StageIo,
): Promise<TrackedOutputs | undefined> {
  if (!c.tracker) return undefined;
  const entry = c.layout.entry(m.key);
  const { model, scalers } = m.outputs;
  const xFrom = s.spec.inputs.X;
  if (model && scalers && xFrom) {
    const X = (await io.load(xFrom)).X;
    if (X?.kind !== 'ndarray' && X?.kind !== 'array-file') return undefined;
    const folder = model.endsWith('/') ? model : `${model}/`; // a folder output is named `model/`
    const folds = Object.fromEntries(
      Object.keys(m.files)
        .filter((f) => f.startsWith(folder))
        .map((f) => [f.slice(folder.length), join(entry, f)]),
    );
    return { model: { scalers: join(entry, scalers), folds, grid: Array.from(trainingGrid(X)) } };
  }
  const outputs = Object.entries(m.outputs);
  if (outputs.length === 0 || m.folds || !outputs.every(([, f]) => f.endsWith('.npy'))) return undefined;
  const arrays: Record<string, { shape: number[]; dtype: string }> = {};
  for (const [name, file] of outputs) arrays[name] = await readNpyHeader(join(entry, file));
  const bytes = outputs.reduce((sum, [, f]) => sum + (m.files[f]?.size ?? 0), 0);
  return { dataset: { key: m.key, arrays, bytes } };
}
