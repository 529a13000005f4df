import type { StatusFlags } from '../command-options.js';
import { loadRunnablePipeline } from '../../pipeline/load.js';
import { Layout } from '../../project/layout.js';
import { planPipeline } from '../../pipeline/plan.js';
import { explainStages, type StageStatusReport } from '../../runner/status.js';
import { builtinRegistry } from '../../stage-contract/registry.js';
import { EXIT } from '../../util/errors.js';
import { locateOverrides } from '../../config/locate-overrides.js';
import { table } from '../../util/format.js';

export async function statusCommand(file: string, flags: StatusFlags): Promise<number> {
  const registry = await builtinRegistry();
  const pipeline = await loadRunnablePipeline(file, { registry, overrides: locateOverrides(flags.set) });
  const plan = await planPipeline(pipeline, registry, { backend: flags.backend });
  printStatus(await explainStages(plan, new Layout(pipeline.root)), plan.runHash, Boolean(flags.json));
  return EXIT.ok;
}

export function printStatus(reports: StageStatusReport[], runHash: string, json: boolean): void {
  if (json) {
    process.stdout.write(JSON.stringify({ runHash, stages: reports }, null, 2) + '\n');
    return;
  }
  const rows = reports.map((r) => [
    r.stage,
    r.type,
    r.state === 'cached' ? 'cached' : 'will run',
    r.key.slice(0, 12),
    r.reasons.join('; '),
  ]);
  process.stdout.write(table(['STAGE', 'TYPE', 'STATE', 'KEY', 'WHY'], rows) + '\n');
  const n = reports.filter((r) => r.state === 'will-run').length;
  process.stdout.write(
    `${n === 0 ? 'up to date: a run would execute nothing' : `${n} of ${reports.length} stages would run`} (run hash ${runHash.slice(0, 12)})\n`,
  );
}
