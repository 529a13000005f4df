import { ParamflowError } from './errors.js';

// The user-facing PARAMFLOW_* variables, each with the check its reader relies on: a bad
// value is bad input (exit 2, named), never silently replaced by a default
// (PARAMFLOW_CHECKPOINT_SECONDS=-1 used to turn checkpoints off).
// Not here: what paramflow sets for command stages and its own children (PARAMFLOW_OUT,
// PARAMFLOW_SEED, PARAMFLOW_PARAM_*, PARAMFLOW_INPUT_*, PARAMFLOW_OUTPUT_*, PARAMFLOW_STAGE,
// PARAMFLOW_PARAMS, PARAMFLOW_MLFLOW_PARENT, PARAMFLOW_COMMAND_TOKEN), test hooks
// (PARAMFLOW_CRASH_AT, PARAMFLOW_CRASH_TRIAL, PARAMFLOW_FAULT_AT, PARAMFLOW_EXPECT_NATIVE),
// and PARAMFLOW_BLAS / PARAMFLOW_OPENBLAS, read at build time by scripts/build-native.mjs.

interface EnvVar {
  /** What a good value looks like, for the hint. */
  expects: string;
  /** True when the (non-empty) value is acceptable. */
  ok: (v: string) => boolean;
}

const flag: EnvVar = { expects: '0 or 1', ok: (v) => v === '0' || v === '1' };
const positiveInt: EnvVar = {
  expects: 'a whole number ≥ 1',
  ok: (v) => /^\d+$/.test(v) && Number(v) >= 1 && Number.isSafeInteger(Number(v)),
};
const anyText: EnvVar = { expects: 'any text', ok: () => true };

export const ENV_VARS = {
  PARAMFLOW_CHECKPOINT_SECONDS: {
    expects: 'a number of seconds ≥ 0 (0: a checkpoint every epoch)',
    ok: (v) => /^\s*\d+(\.\d+)?\s*$/.test(v) && Number.isFinite(Number(v)),
  },
  PARAMFLOW_BLAS_THREADS: positiveInt,
  PARAMFLOW_GEMM_KERNEL: {
    expects: 'one of avx512, avx2, neon, scalar (whether this CPU runs it is checked when the addon loads)',
    ok: (v) => ['avx512', 'avx2', 'neon', 'scalar'].includes(v),
  },
  PARAMFLOW_FUSED: flag,
  PARAMFLOW_NO_NATIVE: flag,
  PARAMFLOW_PROFILE: flag,
  PARAMFLOW_WASM_MATMUL_FIX: flag,
  PARAMFLOW_QUEUE_LOCK_MS: positiveInt,
  PARAMFLOW_MEMORY_BYTES: positiveInt,
  PARAMFLOW_DISK_BYTES: positiveInt,
  PARAMFLOW_STREAM_BYTES: {
    expects: 'a number of bytes ≥ 0 (0: every array is streamed; default 268435456, 256 MiB)',
    ok: (v) => /^\d+$/.test(v) && Number.isSafeInteger(Number(v)),
  },
  PARAMFLOW_REDIS_URL: { expects: 'a redis:// or rediss:// URL', ok: (v) => /^rediss?:\/\/\S+$/.test(v) },
  PARAMFLOW_QUEUE: { expects: 'a queue name (letters, digits, `_ . : -`)', ok: (v) => /^[A-Za-z0-9_.:-]+$/.test(v) },
  // Checked where they are used, with a location of their own (backend names, remote specs, a program path).
  PARAMFLOW_BACKEND: anyText,
  PARAMFLOW_CACHE_REMOTE: anyText,
  PARAMFLOW_PYTHON: anyText,
} satisfies Record<string, EnvVar>;

export type EnvVarName = keyof typeof ENV_VARS;

/** The variable's value (trimmed; empty counts as unset), refused with its name when it is not valid. */
export function envValue(name: EnvVarName, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const spec: EnvVar = ENV_VARS[name];
  if (!spec.ok(raw)) {
    throw new ParamflowError(
      'PF_BAD_FLAG',
      `${name} must be ${spec.expects}, not ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`,
      {
        location: { file: name },
        hint: `set ${name} to ${spec.expects}, or unset it for the default`,
      },
    );
  }
  return raw;
}

/** A number-valued variable, or `fallback` when unset. */
export function envNumber(name: EnvVarName, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const v = envValue(name, env);
  return v === undefined ? fallback : Number(v);
}

/** Checks every registered variable at once: the CLI calls this before any command runs. */
export function checkEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  for (const name of Object.keys(ENV_VARS) as EnvVarName[]) envValue(name, env);
}
