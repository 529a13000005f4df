import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCALE_SCRIPT, TINY_SIMULATE } from '../helpers/command-scripts.js';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { mlflowView } from '../helpers/mlflow-runs.js';
import { makeProject, paramflow, runRecord } from '../helpers/project.js';

// A module stage that reports a metric and a plot (a folder output), as built-ins do.
const REPORTER_TS = `export default {
  name: 'reporter',
  version: '1',
  schema: { type: 'object' },
  inputs: ['Y'],
  outputs: [{ name: 'plots', kind: 'folder' }],
  run(inputs: { Y: { data: Float32Array } }) {
    const max: number = Math.max(...inputs.Y.data);
    return { outputs: { plots: { kind: 'folder', files: { 'max.png': new Uint8Array([0x89, 0x50, 0x4e, 0x47]) } } }, metrics: { y_max: max } };
  },
};
`;

const PIPELINE = `name: metrics-anywhere
seed: 3
stages:
${TINY_SIMULATE}  smooth:
    uses: command
    needs: [simulate]
    with:
      run: node scale.mjs {inputs.simulate.Y} {outputs.Y2} 2
      outputs: [Y2]
  report:
    uses: ./reporter.ts
    needs: [simulate]
`;

let double: MlflowDouble;
beforeAll(async () => {
  double = await MlflowDouble.start();
});
afterAll(async () => {
  await double.down();
});

describe('metrics and plots from command and module stages', () => {
  it("reach the run store and MLflow like the built-ins'", async () => {
    const dir = makeProject(PIPELINE);
    writeFileSync(join(dir, 'scale.mjs'), SCALE_SCRIPT);
    writeFileSync(join(dir, 'reporter.ts'), REPORTER_TS);
    const r = await paramflow(dir, ['run', 'pipeline.yaml', '--json'], { env: { MLFLOW_TRACKING_URI: double.url } });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const runId = (JSON.parse(String(r.stdout)) as { runId: string }).runId;

    const rec = await runRecord(dir, runId);
    expect(Object.keys(rec.metrics).sort()).toEqual(['scaled.mean', 'y_max']);
    const top = mlflowView(double, runId).run!;
    expect(top.histories['scaled.mean']!.map(([, , v]) => v)).toEqual([rec.metrics['scaled.mean']]);
    expect(top.histories.y_max!.map(([, , v]) => v)).toEqual([rec.metrics.y_max]);
    expect(top.artifacts).toEqual(expect.arrayContaining(['smooth/plots/hist.png', 'report/plots/max.png']));
  });
});
