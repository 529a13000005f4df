import { execa } from 'execa';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';

import { NATIVE_PROBLEM, needsNative } from '../helpers/native.js';
import { REPO } from '../helpers/project.js';

const LOAD = join(REPO, 'dist', 'src', 'backend', 'load.js');

// Loads a backend in a fresh Node process (tfjs registers itself once per process) and reports
// on stderr as one last JSON line: anything else on stdout or stderr was printed by loading.
const SCRIPT = `
const { loadTensorflow } = await import(${JSON.stringify(LOAD)});
const name = process.argv[1];
const runtime = await loadTensorflow(name);
const kernel = runtime.tf.getKernel('BatchMatMul', 'wasm');
const sum = runtime.tf.sum(runtime.tf.matMul(runtime.tf.ones([2, 3]), runtime.tf.ones([2, 3]), false, true)).dataSync()[0];
process.stderr.write(JSON.stringify({
  backend: runtime.tf.getBackend(),
  runtimeBackend: runtime.backend,
  version: runtime.version,
  hasLayers: typeof runtime.layers.sequential === 'function',
  matMulFix: kernel?.[Symbol.for('paramflow.wasmMatMulFix')] === true,
  sum,
}) + '\\n');
`;

async function load(name: string, env: Record<string, string> = {}) {
  const r = await execa(process.execPath, ['--input-type=module', '-e', SCRIPT, name], {
    cwd: REPO,
    env: { ...env, PARAMFLOW_BACKEND: '' },
    timeout: 30_000,
    reject: false,
  });
  expect(r.exitCode, r.stderr).toBe(0);
  const lines = r.stderr.trim().split('\n');
  const report = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  return { stdout: r.stdout, otherStderr: lines.slice(0, -1).join('\n'), report };
}

beforeAll(() => {
  if (!existsSync(LOAD)) throw new Error(`${LOAD} is missing: run \`npm run build\` first`);
});

describe('loadTensorflow', () => {
  it('gives wasm with the matMul fix, printing nothing on stdout', async () => {
    const { stdout, otherStderr, report } = await load('wasm');
    expect(stdout).toBe('');
    expect(otherStderr).toBe('');
    expect(report).toMatchObject({
      backend: 'wasm',
      runtimeBackend: 'wasm',
      hasLayers: true,
      matMulFix: true,
      sum: 12,
    });
    expect(report.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('leaves the wasm kernels alone with PARAMFLOW_WASM_MATMUL_FIX=0', async () => {
    const { stdout, report } = await load('wasm', { PARAMFLOW_WASM_MATMUL_FIX: '0' });
    expect(stdout).toBe('');
    expect(report).toMatchObject({ backend: 'wasm', matMulFix: false, sum: 12 });
  });

  it.skipIf(NATIVE_PROBLEM !== undefined)(needsNative('gives native, printing nothing'), async () => {
    const { stdout, otherStderr, report } = await load('native');
    expect(stdout).toBe('');
    expect(otherStderr).toBe('');
    expect(report).toMatchObject({ backend: 'native', runtimeBackend: 'native', matMulFix: false, sum: 12 });
  });

  it('gives cpu without its "install tfjs-node" banner', async () => {
    const { stdout, otherStderr, report } = await load('cpu');
    expect(stdout).toBe('');
    expect(otherStderr).toBe('');
    expect(report).toMatchObject({ backend: 'cpu', runtimeBackend: 'cpu', matMulFix: false, sum: 12 });
  });
});
