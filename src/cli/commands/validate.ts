import { loadPipeline } from '../../config/load-pipeline.js';
import { EXIT } from '../../errors.js';
import { builtinRegistry } from '../../stage/registry.js';
import { locateOverrides } from '../overrides.js';

export async function validateCommand(file: string, flags: { set: string[] }): Promise<number> {
  const pipeline = await loadPipeline(file, { registry: await builtinRegistry(), overrides: locateOverrides(flags.set) });
  process.stdout.write(`${file}: ok — pipeline ${pipeline.name}, ${pipeline.stages.length} stages (${pipeline.stages.map((s) => s.name).join(', ')})\n`);
  return EXIT.ok;
}
