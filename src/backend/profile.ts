import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';

/** Time spent in one kernel since the profile was last taken. */
export interface KernelTime {
  kernel: string;
  calls: number;
  ms: number;
}

/** `paramflow run --profile`: one executed stage's wall time and the kernels it ran. */
export interface StageProfile {
  stage: string;
  ms: number;
  /** Time inside kernels, summed; the rest of `ms` is tfjs's engine and layers, and the stage's own JS. */
  kernelMs: number;
  kernels: KernelTime[];
}

export function stageProfile(stage: string, ms: number, kernels: KernelTime[]): StageProfile {
  return { stage, ms, kernelMs: Math.round(kernels.reduce((t, k) => t + k.ms, 0) * 100) / 100, kernels };
}

/** The part of tfjs-core the profiler touches (the kernel registry). */
export type KernelRegistry = Pick<
  typeof import('@tensorflow/tfjs-core'),
  'getKernelsForBackend' | 'registerKernel' | 'unregisterKernel'
>;

const TIMED = Symbol.for('paramflow.kernelProfile');
const totals = new Map<string, { calls: number; ms: number }>();
let wanted = process.env.PARAMFLOW_PROFILE === '1';
let depth = 0;

/** Asks for kernel timing in this process: the backend loaded next (or already) gets timed. */
export function enableKernelProfile(): void {
  wanted = true;
}

export function kernelProfileWanted(): boolean {
  return wanted;
}

/**
 * Wraps every kernel of `backend` with a timer. The backends paramflow uses compute
 * synchronously, so wall time around a kernel function is its cost. A kernel that calls
 * another through the registry is counted once, as the outer one (self time would need a
 * stack; kernels usually call each other directly, not through the registry). Idempotent.
 */
export function timeKernels(tf: KernelRegistry, backend: string): void {
  for (const k of tf.getKernelsForBackend(backend) as (KernelConfig & { [TIMED]?: true })[]) {
    if (k[TIMED]) continue;
    tf.unregisterKernel(k.kernelName, backend);
    tf.registerKernel({ ...k, kernelFunc: timed(k.kernelName, k.kernelFunc), [TIMED]: true } as KernelConfig);
  }
}

function timed(name: string, fn: KernelFunc): KernelFunc {
  return (args) => {
    if (depth > 0) return fn(args);
    depth++;
    const t0 = performance.now();
    try {
      return fn(args);
    } finally {
      depth--;
      addKernelTime(name, performance.now() - t0);
    }
  };
}

/** Counts one call of `name` taking `ms`: tfjs kernels, and paramflow's own (the fused training step). */
export function addKernelTime(name: string, ms: number): void {
  const entry = totals.get(name);
  if (entry) {
    entry.calls++;
    entry.ms += ms;
  } else {
    totals.set(name, { calls: 1, ms });
  }
}

/** Kernel times since the last call (slowest first), and starts counting afresh. */
export function takeKernelProfile(): KernelTime[] {
  const out = [...totals]
    .map(([kernel, t]) => ({ kernel, calls: t.calls, ms: Math.round(t.ms * 100) / 100 }))
    .sort((a, b) => b.ms - a.ms);
  totals.clear();
  return out;
}
