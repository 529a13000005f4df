import { chooseBackend } from '../backend/probe.js';
import { loadTensorflow } from '../backend/load.js';
import { builtinRegistry } from '../stage/registry.js';

/**
 * What a sweep worker loads before its first trial: the stages, TensorFlow.js on the
 * backend the trials will use, and the plot renderers (with one tiny chart, so vega's
 * parser and resvg's fonts are ready). A trial would load them anyway; done while the
 * sweep is still setting up (the MLflow parent, the other workers starting, the first
 * trial computing shared upstream stages), that second or so comes off the sweep's wall
 * time instead of off every worker's first trial. Never throws: a failure here is met
 * again, and reported properly, by the trial itself.
 */
export async function warmUp(backend: string | undefined): Promise<void> {
  await builtinRegistry().catch(() => undefined);
  try {
    await loadTensorflow(chooseBackend(backend).name);
  } catch {
    // an unloadable backend is the trial's error to report
  }
  const { warmRenderers } = await import('../../stages/evaluate/plots.js');
  await warmRenderers().catch(() => undefined);
}
