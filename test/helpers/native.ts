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
