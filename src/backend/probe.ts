import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ParamflowError } from '../util/errors.js';
import type { BackendName } from '../stage-contract/types.js';
import { loadAddon, nativeProblem } from './native/addon.js';

export const BACKENDS: readonly BackendName[] = ['tfjs-node', 'native', 'wasm', 'cpu'];

export interface BackendChoice {
  name: BackendName;
  /** Why this one: "fastest that loads", "--backend", and why faster ones were passed over. */
  reason: string;
  /** tfjs-core version (part of a train stage's key). */
  tfjsVersion: string;
}

const require = createRequire(import.meta.url);

function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** Why a backend cannot load, or undefined if its files are all there. Reads files only. */
export function backendProblem(name: BackendName): string | undefined {
  switch (name) {
    case 'tfjs-node': {
      const dir = packageDir('@tensorflow/tfjs-node');
      if (!dir)
        return '@tensorflow/tfjs-node is not installed (it is optional: its install downloads libtensorflow, which needs internet)';
      const lib = ['deps/lib/libtensorflow.so', 'deps/lib/libtensorflow.dylib', 'deps/lib/tensorflow.dll'].some((f) =>
        existsSync(join(dir, f)),
      );
      return lib
        ? undefined
        : '@tensorflow/tfjs-node is installed without libtensorflow (its download failed at install time)';
    }
    case 'native':
      return packageDir('@tensorflow/tfjs-backend-cpu')
        ? nativeProblem()
        : '@tensorflow/tfjs-backend-cpu is not installed';
    case 'wasm':
      return packageDir('@tensorflow/tfjs-backend-wasm') ? undefined : '@tensorflow/tfjs-backend-wasm is not installed';
    case 'cpu':
      return packageDir('@tensorflow/tfjs-backend-cpu') ? undefined : '@tensorflow/tfjs-backend-cpu is not installed';
  }
}

export function tfjsVersion(): string {
  const dir = packageDir('@tensorflow/tfjs-core');
  return dir ? (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version : 'none';
}

/**
 * The backend a run will use, decided without importing TensorFlow (a cached no-op run
 * must stay fast): the requested one, or the fastest whose files are present.
 * `PARAMFLOW_BACKEND` stands in for `--backend`.
 */
export function chooseBackend(
  requested: string | undefined = process.env.PARAMFLOW_BACKEND || undefined,
): BackendChoice {
  const choice = choose(requested);
  if (choice.name === 'native' && process.env.PARAMFLOW_GEMM_KERNEL) checkKernel(process.env.PARAMFLOW_GEMM_KERNEL);
  return choice;
}

/**
 * A kernel named by PARAMFLOW_GEMM_KERNEL that this CPU does not run is bad input, found before
 * any stage runs (the addon refuses to load with it). Only then is the addon loaded to ask:
 * without the variable a cached no-op run loads no addon.
 */
function checkKernel(kernel: string): void {
  let runs: string[];
  try {
    runs = loadAddon().gemmKernels();
  } catch (err) {
    const message = (err as Error).message;
    if (!message.startsWith('PARAMFLOW_GEMM_KERNEL')) return; // another failure: reported where training loads it
    throw new ParamflowError('PF_BAD_FLAG', message, {
      location: { file: '<environment>' },
      hint: 'unset PARAMFLOW_GEMM_KERNEL (the widest kernel this CPU runs is the default), or name one it runs',
    });
  }
  if (!runs.includes(kernel))
    throw new ParamflowError('PF_BAD_FLAG', `PARAMFLOW_GEMM_KERNEL=${kernel}: this CPU runs ${runs.join(', ')}`, {
      location: { file: '<environment>' },
      hint: 'unset PARAMFLOW_GEMM_KERNEL, or name one of those',
    });
}

function choose(requested: string | undefined): BackendChoice {
  const version = tfjsVersion();
  if (requested !== undefined) {
    if (!(BACKENDS as readonly string[]).includes(requested)) {
      throw new ParamflowError('PF_BAD_FLAG', `unknown backend \`${requested}\``, {
        location: { file: '<command line>' },
        hint: `choose one of ${BACKENDS.join(', ')}`,
      });
    }
    const problem = backendProblem(requested as BackendName);
    if (problem) {
      throw new ParamflowError('PF_BAD_FLAG', `backend ${requested} cannot load: ${problem}`, {
        location: { file: '<command line>' },
        hint: `leave --backend out to use the fastest backend that loads, or pick another of ${BACKENDS.join(', ')}`,
      });
    }
    return { name: requested as BackendName, reason: 'requested', tfjsVersion: version };
  }
  const skipped: string[] = [];
  for (const name of BACKENDS) {
    const problem = backendProblem(name);
    if (!problem)
      return {
        name,
        reason: skipped.length ? `fastest that loads; skipped ${skipped.join('; ')}` : 'fastest that loads',
        tfjsVersion: version,
      };
    skipped.push(`${name}: ${problem}`);
  }
  throw new ParamflowError('PF_NOT_SUPPORTED', 'no TensorFlow.js backend can load', {
    hint: `reinstall paramflow's dependencies (${skipped.join('; ')})`,
  });
}
