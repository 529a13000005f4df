import { createRequire } from 'node:module';
import { ParamflowError } from '../util/errors.js';
import type { BackendName, TfRuntime } from '../stage-contract/types.js';
import { tfjsVersion } from './probe.js';
import { kernelProfileWanted, timeKernels } from './profile.js';
import { registerWasmMatMulFix } from './wasm-matmul-fix.js';

const loaded = new Map<BackendName, Promise<TfRuntime>>();

// TensorFlow.js ships CommonJS: require() loads it ~170 ms faster than import(), which first
// scans every module's source for its named exports.
const require = createRequire(import.meta.url);

/** TensorFlow.js on `name`, imported and initialised once per process. */
export function loadTensorflow(name: BackendName): Promise<TfRuntime> {
  let p = loaded.get(name);
  if (!p) {
    p = initialise(name);
    loaded.set(name, p);
  }
  return p;
}

async function initialise(name: BackendName): Promise<TfRuntime> {
  const tf = await quietly(async () => {
    const core = require('@tensorflow/tfjs-core') as typeof import('@tensorflow/tfjs-core');
    // tfjs prints a "use tfjs-node" banner on Node unless in PROD (or IS_TEST) mode. Not IS_TEST:
    // it also turns on per-kernel leak checks, which throw while training tfjs-layers models on wasm.
    core.env().set('PROD', true);
    if (name === 'tfjs-node') require('@tensorflow/tfjs-node');
    else if (name === 'wasm') await setUpWasm();
    else require('@tensorflow/tfjs-backend-cpu');
    if (name === 'native') await setUpNative(core);
    return core;
  });
  const registered = name === 'tfjs-node' ? 'tensorflow' : name;
  const ok = await tf.setBackend(registered);
  await tf.ready();
  // wasm can fall back to cpu silently: check what we really got.
  if (!ok || tf.getBackend() !== registered) {
    throw new ParamflowError(
      'PF_NOT_SUPPORTED',
      `TensorFlow.js backend ${name} did not initialise (got ${tf.getBackend() ?? 'none'})`,
      {
        hint: `run with --backend ${name === 'wasm' ? 'cpu' : 'wasm'}, or reinstall dependencies`,
      },
    );
  }
  if (name === 'wasm') registerWasmMatMulFix(tf);
  if (kernelProfileWanted()) timeKernels(tf, registered);
  const layers = require('@tensorflow/tfjs-layers') as typeof import('@tensorflow/tfjs-layers');
  return { tf, layers, backend: name, version: tfjsVersion() };
}

/** Registers the `native` backend (cpu kernels, the heavy ones on the addon's BLAS). */
async function setUpNative(core: typeof import('@tensorflow/tfjs-core')): Promise<void> {
  const { loadAddon, addonPath } = await import('./native/addon.js');
  const { registerNativeBackend } = await import('./native/register.js');
  let addon;
  try {
    addon = loadAddon();
  } catch (e) {
    throw new ParamflowError(
      'PF_NOT_SUPPORTED',
      `the native kernels (${addonPath()}) do not load: ${(e as Error).message}`,
      {
        hint: 'rebuild them with `npm run build:native`, or run with --backend wasm (PARAMFLOW_NO_NATIVE=1 makes wasm the default)',
      },
    );
  }
  registerNativeBackend(core, addon);
}

async function setUpWasm(): Promise<void> {
  require('@tensorflow/tfjs-backend-cpu');
  const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
  const { dirname, join } = await import('node:path');
  const dist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  wasm.setWasmPaths(`${dist}/`);
}

/** Runs `fn` with console output muted: tfjs logs on import, and paramflow's output is its own. */
async function quietly<T>(fn: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, warn: console.warn, info: console.info };
  console.log = console.warn = console.info = () => undefined;
  try {
    return await fn();
  } finally {
    Object.assign(console, saved);
  }
}
