import type { RegisterFlags } from '../command-options.js';
import { Layout } from '../../project/layout.js';
import { findProjectRoot } from '../../project/root.js';
import { registerRunModel } from '../../tracking/mlflow/register.js';
import { resolveRunRef } from '../../tracking/resolve-ref.js';
import { EXIT } from '../../util/errors.js';
import { listRuns, projectStore } from './runs.js';

/** `paramflow register <ref> --name <name>`: the run's logged model as a new version in MLflow's Model Registry. */
export async function registerCommand(ref: string, flags: RegisterFlags): Promise<number> {
  const layout = new Layout(findProjectRoot(process.cwd()));
  const run = resolveRunRef(ref, await listRuns(projectStore()));
  const r = await registerRunModel(layout, run.runId, flags.name, process.env);
  if (flags.json) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else
    process.stdout.write(
      `registered ${r.name} version ${r.version} (logged model ${r.modelId}): mlflow.pyfunc.load_model("${r.uri}")\n`,
    );
  return EXIT.ok;
}
