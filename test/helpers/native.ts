import { backendProblem } from '../../src/backend/probe.js';

/**
 * Why the native backend cannot load here, or undefined when it can: no addon was built (a
 * machine without a C compiler or Node's headers; build/native.json says why) or
 * PARAMFLOW_NO_NATIVE=1. Reads files only, so it is safe at a test file's top level.
 */
export const NATIVE_PROBLEM: string | undefined = backendProblem('native');

/**
 * A native-only test's title: as given when the addon loads, else followed by why it is skipped,
 * so the skip names its reason. Use with `describe.skipIf(NATIVE_PROBLEM !== undefined)` (or
 * `it.skipIf`), and call `loadAddon()` inside hooks or tests only: a skipped describe's body
 * still runs.
 */
export function needsNative(title: string): string {
  return NATIVE_PROBLEM === undefined ? title : `${title} (skipped: needs the native addon: ${NATIVE_PROBLEM})`;
}

/**
 * n deterministic float32 values in [-scale, scale): an integer LCG from `seed` (the same
 * stream test/native/gemm-harness.c draws, so C and JavaScript tests can share inputs).
 */
export function lcgValues(n: number, seed: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s / 2 ** 32) * 2 - 1) * scale;
  }
  return out;
}
