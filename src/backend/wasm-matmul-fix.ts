import type {
  KernelBackend,
  KernelConfig,
  KernelFunc,
  NamedAttrMap,
  NamedTensorInfoMap,
  TensorInfo,
} from '@tensorflow/tfjs-core';

/** The part of tfjs-core this module touches (the kernel registry). */
export type KernelRegistry = Pick<
  typeof import('@tensorflow/tfjs-core'),
  'getKernel' | 'registerKernel' | 'unregisterKernel'
>;

const MATMUL_KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;
/** Marks a kernel config as ours, so a second call (even from another copy of this module) is a no-op. */
const PATCHED = Symbol.for('paramflow.wasmMatMulFix');

type PatchedConfig = KernelConfig & { [PATCHED]?: true };

/**
 * Works around tfjs-backend-wasm's matMul being 10–20× slower when a transpose flag is set,
 * which every dense layer's backward pass uses: re-registers the wasm
 * `BatchMatMul` and `_FusedMatMul` kernels so they transpose operands explicitly with the wasm
 * `Transpose` kernel, then call the original kernel with both flags false.
 *
 * `PARAMFLOW_WASM_MATMUL_FIX=0` turns it off (to measure the difference: `npm run bench`).
 * Returns whether the fix is in place afterwards. Idempotent.
 */
export function registerWasmMatMulFix(
  tf: KernelRegistry,
  enabled = process.env.PARAMFLOW_WASM_MATMUL_FIX !== '0',
): boolean {
  if (!enabled) return false;
  const transpose = tf.getKernel('Transpose', 'wasm') as KernelConfig | undefined;
  if (!transpose) return false; // tfjs-backend-wasm not imported: nothing to fix
  let patched = true;
  for (const kernelName of MATMUL_KERNELS) {
    const original = tf.getKernel(kernelName, 'wasm') as PatchedConfig | undefined;
    if (!original) {
      patched = false;
      continue;
    }
    if (original[PATCHED]) continue;
    const replacement: PatchedConfig = {
      ...original,
      kernelFunc: withExplicitTransposes(original.kernelFunc, transpose.kernelFunc),
      [PATCHED]: true,
    };
    // The registry warns on (and keeps) a duplicate registration: remove the original first.
    tf.unregisterKernel(kernelName, 'wasm');
    tf.registerKernel(replacement);
  }
  return patched;
}

/**
 * `matMulKernel` (BatchMatMul or _FusedMatMul: inputs `a`, `b`, attrs `transposeA`,
 * `transposeB`) computed as plain, untransposed products. Kernels called directly create no
 * engine tensors, so the transposed copies are freed here through the backend.
 */
export function withExplicitTransposes(matMulKernel: KernelFunc, transposeKernel: KernelFunc): KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const transposeA = attrs?.transposeA === true;
    const transposeB = attrs?.transposeB === true;
    if (!transposeA && !transposeB) return matMulKernel({ inputs, backend, attrs });

    const temporaries: TensorInfo[] = [];
    const swapLastTwo = (x: TensorInfo | undefined): TensorInfo => {
      if (!x) throw new Error('matMul: missing operand');
      const rank = x.shape.length;
      const perm = [...Array(rank).keys()];
      perm[rank - 2] = rank - 1;
      perm[rank - 1] = rank - 2;
      // The wasm Transpose kernel always writes a fresh buffer (refCount 1), never aliases x.
      const out = transposeKernel({ inputs: { x }, backend, attrs: { perm } }) as TensorInfo;
      temporaries.push(out);
      return out;
    };
    try {
      const plainInputs: NamedTensorInfoMap = {
        ...inputs,
        a: transposeA ? swapLastTwo(inputs.a) : inputs.a,
        b: transposeB ? swapLastTwo(inputs.b) : inputs.b,
      };
      const plainAttrs: NamedAttrMap = { ...attrs, transposeA: false, transposeB: false };
      return matMulKernel({ inputs: plainInputs, backend, attrs: plainAttrs });
    } finally {
      for (const t of temporaries) (backend as KernelBackend).disposeData(t.dataId);
    }
  };
}
