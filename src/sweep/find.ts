import { loadRunnablePipeline, type RunnablePipeline } from '../pipeline/load.js';
import type { Override } from '../config/spec.js';
import { builtinRegistry } from '../stage-contract/registry.js';
import { mergeSweep, parseSweepFlag, type SweepSpec } from '../config/sweep-spec.js';

// Kept apart from run-sweep.ts: `paramflow run` asks this of every pipeline, and one
// without a sweep should load none of the sweep machinery (workers, execa, stores).

/** The pipeline loaded with its overrides, and its sweep (file `sweep:` and `--sweep` flags) if it has one. */
export async function loadWithSweep(
  file: string,
  overrides: readonly Override[],
  flags: readonly Override[],
): Promise<{ base: RunnablePipeline; spec?: SweepSpec }> {
  const base = await loadRunnablePipeline(file, { registry: await builtinRegistry(), overrides });
  const spec = mergeSweep(
    base.sweep,
    flags.map((f) => parseSweepFlag(f.text, f.column)),
  );
  return spec ? { base, spec } : { base };
}
