import type { DataType, KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';

/** The part of tfjs's `cpu` backend (MathBackendCPU) the native kernels use. */
export interface CpuBackend {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: DataType, values: Float32Array | Int32Array | Uint8Array): TensorInfo;
  disposeIntermediateTensorInfo(t: TensorInfo): void;
}

export function asCpu(backend: KernelBackend | unknown): CpuBackend {
  return backend as CpuBackend;
}

/**
 * A float32 tensor's values as the cpu backend holds them (the array itself, not a copy), or
 * undefined when the tensor is of another type: the caller then leaves the work to the cpu
 * kernel. Treat as read-only: reshaped tensors share the same array.
 */
export function f32(backend: CpuBackend, t: TensorInfo | undefined): Float32Array | undefined {
  if (!t || t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array ? v : undefined;
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
