import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MlflowDouble } from '../helpers/mlflow-double.js';
import { paramflow, quickProject } from '../helpers/project.js';

// The model paramflow logs to MLflow, loaded in Python as MLflow loads it (the logged
// MLmodel's loader module, numpy only), reproduces `paramflow predict` on the same curves.
// Every layer kind train offers is in the network: dense with a non-trivial activation (gelu),
// batch_norm (moving statistics), dropout (identity) and activation.

async function pythonWith(modules: string): Promise<string | undefined> {
  for (const python of [process.env.PARAMFLOW_TEST_PYTHON, 'python3', '/usr/bin/python3']) {
    if (!python) continue;
    const r = await execa(python, ['-c', `import ${modules}`], { reject: false });
    if (r.exitCode === 0) return python;
  }
  return undefined;
}

const withNumpy = await pythonWith('numpy');
const withMlflow = await pythonWith('mlflow, numpy');

const LAYERS =
  '[{"dense":{"units":16,"activation":"gelu"}},{"batch_norm":{}},{"dropout":{"rate":0.1}},' +
  '{"activation":{"name":"tanh"}},{"dense":{"units":3}}]';

let double: MlflowDouble;
let modelDir: string;
let expected: number[][];
let curves: number[][];

beforeAll(async () => {
  if (!withNumpy) return;
  double = await MlflowDouble.start();
  const dir = quickProject();
  const run = await paramflow(
    dir,
    ['run', 'pipeline.yaml', '--json', '--set', `train.layers=${LAYERS}`, '--set', 'train.epochs=3'],
    { env: { MLFLOW_TRACKING_URI: double.url } },
  );
  expect(run.exitCode, String(run.stderr)).toBe(0);
  const { runId } = JSON.parse(String(run.stdout)) as { runId: string };

  // The model folder as logged under the run's artifacts (what runs:/<id>/model downloads).
  const parent = [...double.store.runs.values()].find(
    (r) => r.tags.get('paramflow.run_id') === runId && r.tags.get('paramflow.scope') === 'run',
  )!;
  const prefix = `${parent.experiment_id}/${parent.run_id}/artifacts/model/`;
  modelDir = mkdtempSync(join(tmpdir(), 'pf-pyfunc-'));
  for (const [key, bytes] of double.store.artifacts) {
    if (!key.startsWith(prefix)) continue;
    const file = join(modelDir, key.slice(prefix.length));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, bytes);
  }

  // Curves on the training grid: what `paramflow predict` interpolates onto, so both sides see the same values.
  const grid = (JSON.parse(readFileSync(join(modelDir, 'data', 'grid.json'), 'utf8')) as { x: number[] }).x;
  curves = [0.5, 1, 1.5, 2].map((a, i) => grid.map((x) => a * Math.exp(-(0.2 + 0.1 * i) * x) + 0.01 * Math.sin(7 * x)));
  const csv = ['x,' + curves.map((_, i) => `y${i}`).join(',')];
  grid.forEach((x, j) => csv.push([x, ...curves.map((c) => c[j])].join(',')));
  writeFileSync(join(dir, 'curves.csv'), csv.join('\n') + '\n');
  const predicted = await paramflow(dir, ['predict', runId, 'curves.csv']);
  expect(predicted.exitCode, String(predicted.stderr)).toBe(0);
  const [header, ...rows] = String(predicted.stdout).trim().split('\n');
  const means = header!.split(',').flatMap((h, i) => (h !== 'curve' && !h.endsWith('_std') ? [i] : []));
  expected = rows.map((r) => means.map((i) => Number(r.split(',')[i])));
  writeFileSync(join(modelDir, 'curves.json'), JSON.stringify(curves));
}, 120_000);

afterAll(async () => {
  await double?.down();
});

describe.skipIf(!withNumpy)('the logged pyfunc model in Python (numpy only)', () => {
  it('has the MLmodel MLflow reads: a python_function flavor loading paramflow_pyfunc from code/ with data/', () => {
    const mlmodel = parse(readFileSync(join(modelDir, 'MLmodel'), 'utf8')) as Record<string, any>;
    expect(mlmodel.flavors.python_function).toEqual({ loader_module: 'paramflow_pyfunc', code: 'code', data: 'data' });
  });

  it("reproduces `paramflow predict`'s fold-mean predictions within 1e-5", async () => {
    const script = [
      'import json, sys',
      `sys.path.insert(0, ${JSON.stringify(join(modelDir, 'code'))})`,
      'import numpy as np, paramflow_pyfunc',
      `model = paramflow_pyfunc._load_pyfunc(${JSON.stringify(join(modelDir, 'data'))})`,
      `curves = np.asarray(json.load(open(${JSON.stringify(join(modelDir, 'curves.json'))})))`,
      'out = model.predict(curves)',
      'print(json.dumps(np.asarray(out).tolist()))',
    ].join('\n');
    const r = await execa(withNumpy!, ['-c', script]);
    const got = JSON.parse(r.stdout) as number[][];
    expect(got.length).toBe(expected.length);
    got.forEach((row, i) => row.forEach((v, t) => expect(Math.abs(v - expected[i]![t]!)).toBeLessThan(1e-5)));
  });

  it('refuses curves of the wrong width, naming the widths it takes', async () => {
    const script = [
      'import sys',
      `sys.path.insert(0, ${JSON.stringify(join(modelDir, 'code'))})`,
      'import numpy as np, paramflow_pyfunc',
      `paramflow_pyfunc._load_pyfunc(${JSON.stringify(join(modelDir, 'data'))}).predict(np.zeros((2, 7)))`,
    ].join('\n');
    const r = await execa(withNumpy!, ['-c', script], { reject: false });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/expected curves as \(n, \d+\) y values on the training grid/);
  });
});

describe.skipIf(!withNumpy || !withMlflow)(
  'the logged model through mlflow.pyfunc.load_model (optional: needs mlflow)',
  () => {
    it('loads the folder and predicts the same values', async () => {
      const script = [
        'import json, mlflow.pyfunc, numpy as np',
        `m = mlflow.pyfunc.load_model(${JSON.stringify(modelDir)})`,
        `print(json.dumps(np.asarray(m.predict(np.asarray(json.load(open(${JSON.stringify(join(modelDir, 'curves.json'))}))))).tolist()))`,
      ].join('\n');
      // In the model's folder, with a tracking store there: MLflow 3 opens ./mlflow.db by default.
      const got = JSON.parse(
        (
          await execa(withMlflow!, ['-c', script], {
            cwd: modelDir,
            env: { MLFLOW_TRACKING_URI: `sqlite:///${join(modelDir, 'mlflow.db')}` },
          })
        ).stdout,
      ) as number[][];
      got.forEach((row, i) => row.forEach((v, t) => expect(Math.abs(v - expected[i]![t]!)).toBeLessThan(1e-5)));
    });
  },
);
