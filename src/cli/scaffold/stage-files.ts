// What `paramflow stage new <name>` writes: a stage module that runs as is (a feature
// step between add-noise and train: it reads X, Y, targets and passes them on), and a
// test for it that needs only Node's test runner and tsx.

export function stageModule(name: string, uses = `./stages/${name}.ts`): string {
  return `import { defineStage, ndarray, requireArray } from 'paramflow';

// A paramflow stage module. Use it in a pipeline (paths are relative to the pipeline file):
//
//   ${name}:
//     uses: ${uses}
//     needs: [noise]
//     with: { window: 5 }
//
// It reads X, Y and targets from the stages it needs and outputs the same three, so
// train can read them (train: needs: [${name}, folds]). The file's content is part of the
// stage key: editing it re-runs the stage. Bump \`version\` when results change for
// reasons the key cannot see (a helper file it imports, a library upgrade).
export default defineStage({
  name: '${name}',
  version: '1',
  // The JSON Schema of \`with:\`; \`run\` gets params typed from it, defaults filled in.
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      window: { type: 'integer', minimum: 1, default: 5, description: 'Points in the moving average (odd is symmetric).' },
    },
  },
  inputs: ['X', 'Y', 'targets'],
  outputs: [
    { name: 'X', kind: 'ndarray' },
    { name: 'Y', kind: 'ndarray' },
    { name: 'targets', kind: 'ndarray' },
  ],
  run(inputs, params, ctx) {
    const X = requireArray(inputs, 'X', ctx.stage);
    const Y = requireArray(inputs, 'Y', ctx.stage);
    const targets = requireArray(inputs, 'targets', ctx.stage);
    const [n = 0, points = 0] = Y.shape;
    const out = ndarray(Y.dtype, Y.shape);
    const half = Math.floor(params.window / 2);
    for (let i = 0; i < n; i++) {
      ctx.signal.throwIfAborted();
      const row = i * points;
      for (let j = 0; j < points; j++) {
        const from = Math.max(0, j - half);
        const to = Math.min(points - 1, j + half);
        let sum = 0;
        for (let k = from; k <= to; k++) sum += Y.data[row + k]!;
        out.data[row + j] = sum / (to - from + 1);
      }
      ctx.progress(i + 1, n, 'curves');
    }
    ctx.log(\`smoothed \${n} curves with a window of \${params.window}\`);
    return { outputs: { X, Y: out, targets }, metrics: { '${name}.window': params.window } };
  },
});
`;
}

export function stageTest(name: string): string {
  return `// Run with: npx tsx --test stages/${name}.test.ts
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ndarray, stageTestContext } from 'paramflow';
import stage from './${name}.ts';

test('${name} averages each curve over a moving window and passes X and targets on', async () => {
  const X = ndarray('float32', [2, 4], Float32Array.from([0, 1, 2, 3, 0, 1, 2, 3]));
  const Y = ndarray('float32', [2, 4], Float32Array.from([0, 3, 0, 3, 1, 1, 1, 1]));
  const targets = ndarray('float32', [2, 1], Float32Array.from([7, 8]));
  const result = await stage.run({ X, Y, targets }, { window: 3 }, stageTestContext());
  assert.deepEqual([...(result.outputs.Y as typeof Y).data], [1.5, 1, 2, 1.5, 1, 1, 1, 1]);
  assert.equal(result.outputs.X, X);
  assert.equal(result.outputs.targets, targets);
});
`;
}
