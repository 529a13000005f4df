import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline } from '../../src/config/load-pipeline.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { builtinRegistry } from '../../src/stage-contract/registry.js';
import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { makeProject, TRAINED_PIPELINE } from '../helpers/project.js';

// A stage's key facts come from the stage (keyFacts), not from a rule in planning: on native
// only a model the fused trainer takes records `trainer`, and evaluate records no trainer.

async function facts(pipeline: string, env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const registry = await builtinRegistry();
  const spec = await loadPipeline(join(makeProject(pipeline), 'pipeline.yaml'), { registry, env: {} });
  const plan = await planPipeline(spec, registry, { backend: 'native', env });
  return Object.fromEntries(plan.stages.map((s) => [s.spec.name, { env: s.key.details.env, key: s.key.value }]));
}

const SWISH = TRAINED_PIPELINE.replace('activation: relu', 'activation: swish');
type Facts = Record<string, { env: Record<string, string>; key: string }>;

describe.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('stage key facts on native'), () => {
  it('records the fused trainer for a model it takes, and not for one it does not', async () => {
    const fused = (await facts(TRAINED_PIPELINE)) as Facts;
    const other = (await facts(SWISH)) as Facts;
    expect(fused.train!.env).toMatchObject({ backend: 'native', trainer: 'fused-1' });
    expect(other.train!.env.trainer).toBeUndefined();
    expect(other.train!.env).toMatchObject({ backend: 'native', arithmetic: fused.train!.env.arithmetic });
    for (const f of [fused, other]) expect(f.evaluate!.env.trainer).toBeUndefined();
  });

  it('PARAMFLOW_FUSED=0 changes the key of a model the fused trainer takes, and no other', async () => {
    const [on, off] = [
      (await facts(TRAINED_PIPELINE)) as Facts,
      (await facts(TRAINED_PIPELINE, { PARAMFLOW_FUSED: '0' })) as Facts,
    ];
    expect(off.train!.key).not.toBe(on.train!.key);
    expect(off.simulate!.key).toBe(on.simulate!.key);
    const [swishOn, swishOff] = [
      (await facts(SWISH)) as Facts,
      (await facts(SWISH, { PARAMFLOW_FUSED: '0' })) as Facts,
    ];
    expect(swishOff.train!.key).toBe(swishOn.train!.key);
    expect(swishOff.evaluate!.key).toBe(swishOn.evaluate!.key);
  });

  it('refuses a bad PARAMFLOW_FUSED whatever the model (exit 2)', async () => {
    await expect(facts(SWISH, { PARAMFLOW_FUSED: 'yes' })).rejects.toMatchObject({ code: 'PF_BAD_FLAG' });
  });
});
