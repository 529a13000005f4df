import type { KernelConfig, KernelFunc } from '@tensorflow/tfjs-core';
import type { NativeAddon } from './addon.js';
import {
  BINARY_KERNELS,
  REDUCE_KERNELS,
  UNARY_KERNELS,
  binaryKernel,
  reduceKernel,
  unaryKernel,
} from './elementwise.js';
import { batchMatMulKernel, fusedMatMulKernel } from './matmul.js';
import { adamKernel, patchAdam } from './adam.js';
import { tileKernel } from './tile.js';
import { NATIVE } from './names.js';

export { NATIVE };

/** The part of tfjs-core this module touches (backend and kernel registries). */
export type Registry = typeof import('@tensorflow/tfjs-core');

/** The kernels the addon replaces, each given the cpu kernel to fall back on. */
function replacements(addon: NativeAddon): Record<string, (original: KernelFunc) => KernelFunc> {
  const out: Record<string, (original: KernelFunc) => KernelFunc> = {
    BatchMatMul: (o) => batchMatMulKernel(addon, o),
    _FusedMatMul: (o) => fusedMatMulKernel(addon, o),
    Tile: (o) => tileKernel(o),
  };
  for (const [name, op] of Object.entries(BINARY_KERNELS)) out[name] = (o) => binaryKernel(addon, op, o);
  for (const [name, op] of Object.entries(UNARY_KERNELS)) out[name] = (o) => unaryKernel(addon, op, o);
  for (const name of REDUCE_KERNELS) out[name] = (o) => reduceKernel(addon, name, o);
  return out;
}

/**
 * Registers the `native` backend: tfjs's `cpu` backend (same tensor storage, MathBackendCPU),
 * with every cpu kernel, the heavy ones replaced by the addon's. tfjs-backend-cpu must be
 * imported first (its kernels are copied from the registry). Also makes tfjs's Adam take one
 * fused native step per weight on this backend (adam.ts). Idempotent. Returns the names of
 * the kernels that run natively.
 */
export function registerNativeBackend(tf: Registry, addon: NativeAddon): string[] {
  const replace = replacements(addon);
  const nativeNames = Object.keys(replace);
  if (tf.getKernel('BatchMatMul', NATIVE)) return [...nativeNames, 'Adam'];
  const cpuFactory = tf.findBackendFactory('cpu');
  if (!cpuFactory) throw new Error('tfjs-backend-cpu must be imported before the native backend is registered');
  // Priority 0: tfjs never picks it by itself; paramflow sets it explicitly.
  tf.registerBackend(NATIVE, cpuFactory, 0);
  for (const k of tf.getKernelsForBackend('cpu')) {
    const swap = replace[k.kernelName];
    const config: KernelConfig = { ...k, backendName: NATIVE, ...(swap ? { kernelFunc: swap(k.kernelFunc) } : {}) };
    tf.registerKernel(config);
  }
  tf.registerKernel(adamKernel(addon));
  patchAdam(tf);
  return [...nativeNames, 'Adam'];
}
