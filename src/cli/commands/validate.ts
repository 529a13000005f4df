import type { ValidateFlags } from '../command-options.js';
import { loadRunnablePipeline } from '../../pipeline/load.js';
import { EXIT } from '../../util/errors.js';
import { builtinRegistry } from '../../stage-contract/registry.js';
import { locateOverrides } from '../../config/locate-overrides.js';
import { prepareSweep } from '../../sweep/run-sweep.js';
import { searchSpace } from '../../sweep/search/space.js';

export async function validateCommand(file: string, flags: ValidateFlags): Promise<number> {
  const overrides = locateOverrides(flags.set);
  const pipeline = await loadRunnablePipeline(file, { registry: await builtinRegistry(), overrides });
  const sweep = await prepareSweep(
    file,
    overrides,
    locateOverrides(flags.sweep ?? [], process.argv.slice(2), '--sweep'),
  );
  const trials = sweep?.spec.tpe
    ? `; TPE search of ${searchSpace(sweep.spec).length} keys (${sweep.spec.budget?.trials ? `up to ${sweep.spec.budget.trials} trials` : `${sweep.spec.budget?.minutes} minutes`} × ${sweep.spec.replicates} replicate(s)), every key's ends valid`
    : sweep
      ? `; sweep of ${sweep.trials.length} trials × ${sweep.spec.replicates} replicate(s), all valid`
      : '';
  process.stdout.write(
    `${file}: ok — pipeline ${pipeline.name}, ${pipeline.stages.length} stages (${pipeline.stages.map((s) => s.name).join(', ')})${trials}\n`,
  );
  return EXIT.ok;
}
