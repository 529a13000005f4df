import { loadPipeline } from '../config/load-pipeline.js';
import type { Override, PipelineSpec } from '../config/spec.js';
import { builtinRegistry } from '../stage/registry.js';
import { mergeSweep, parseSweepFlag, type SweepSpec } from './spec.js';

// Kept apart from run-sweep.ts: `paramflow run` asks this of every pipeline, and one
// without a sweep should load none of the sweep machinery (workers, execa, stores).

/** The pipeline loaded with its overrides, and its sweep (file `sweep:` and `--sweep` flags) if it has one. */
export async function loadWithSweep(file: string, overrides: readonly Override[], flags: readonly Override[]): Promise<{ base: PipelineSpec; spec?: SweepSpec }> {
  const base = await loadPipeline(file, { registry: await builtinRegistry(), overrides });
  const spec = mergeSweep(base.sweep, flags.map((f) => parseSweepFlag(f.text, f.column)));
  return spec ? { base, spec } : { base };
}
