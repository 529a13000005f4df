import { existsSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { StageShapes } from '../config/infer-shapes.js';
import { byteSize } from '../stage-contract/ndarray.js';
import type { ArrayShape } from '../stage-contract/types.js';
import { envNumber } from '../util/env-vars.js';
import { ParamflowError, type SourceLocation } from '../util/errors.js';
import { formatBytes } from '../util/format.js';
import type { Plan } from './plan.js';

// Before a run writes anything: will its arrays fit on the disk, and in memory? Estimated from
// the shapes validation inferred, so a run that cannot fit is refused (exit 2) instead of
// failing an hour in, or being killed by the kernel, with half its entries written.

/** Node, TensorFlow.js and a stage's working buffers: what a run holds beside its arrays. */
const BASELINE = 512 * 2 ** 20;

export interface ResourceLimits {
  memory: { bytes: number; source: string };
  disk: { bytes: number; source: string };
}

interface ArrayUse {
  stage: string;
  name: string;
  bytes: number;
}

/** Bytes of an array of this shape, when every dimension is known. */
function arrayBytes(a: ArrayShape | undefined): number | undefined {
  if (!a || a.shape.some((d) => d === undefined)) return undefined;
  return byteSize({ shape: a.shape as number[], dtype: a.dtype ?? 'float32' });
}

/** The memory a run may use: PARAMFLOW_MEMORY_BYTES, else the cgroup's limit or the machine's memory. */
export function memoryLimit(env: NodeJS.ProcessEnv = process.env): ResourceLimits['memory'] {
  const set = envNumber('PARAMFLOW_MEMORY_BYTES', 0, env);
  if (set > 0) return { bytes: set, source: 'PARAMFLOW_MEMORY_BYTES' };
  const total = totalmem();
  for (const file of ['/sys/fs/cgroup/memory.max', '/sys/fs/cgroup/memory/memory.limit_in_bytes']) {
    const text = existsSync(file) ? readFileSync(file, 'utf8').trim() : 'max';
    const limit = Number(text);
    if (Number.isSafeInteger(limit) && limit > 0 && limit < total) return { bytes: limit, source: `cgroup ${file}` };
  }
  return { bytes: total, source: 'the machine’s memory' };
}

/** Free space where the cache is (or would be: the nearest folder that exists), or PARAMFLOW_DISK_BYTES. */
export async function diskFree(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ResourceLimits['disk']> {
  const set = envNumber('PARAMFLOW_DISK_BYTES', 0, env);
  if (set > 0) return { bytes: set, source: 'PARAMFLOW_DISK_BYTES' };
  let at = path;
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at);
  const s = await statfs(at);
  return { bytes: s.bavail * s.bsize, source: `free on ${at}` };
}

/**
 * Refuses (PF_TOO_LARGE, exit 2) a run whose new cache entries would not fit on the disk, or
 * whose arrays held in memory would not fit in memory. `executes`: the stages not cached.
 * Arrays of at least `streamBytes` are streamed by stages that declare `streams` (and written
 * by sinks): they cost disk, not memory. Unknown shapes count nothing.
 */
export function checkResources(
  plan: Plan,
  executes: ReadonlySet<string>,
  streamBytes: number,
  limits: ResourceLimits,
): ResourceEstimate {
  const shapes = plan.pipeline.shapes ?? {};
  const written: ArrayUse[] = [];
  const held: ArrayUse[] = [];
  let working: { stage: string; bytes: number; inputs: ArrayUse[] } | undefined;
  for (const s of plan.stages) {
    const name = s.spec.name;
    const sh: StageShapes | undefined = shapes[name];
    if (!sh) continue;
    for (const [out, shape] of Object.entries(sh.outputs)) {
      const bytes = arrayBytes(shape);
      if (bytes === undefined) continue;
      if (executes.has(name) && !sh.passThrough.includes(out)) written.push({ stage: name, name: out, bytes });
      // The run keeps its small arrays in memory for the stages after (large ones stay in files).
      if (bytes < streamBytes && !sh.passThrough.includes(out)) held.push({ stage: name, name: out, bytes });
    }
    if (!executes.has(name)) continue;
    // A stage that does not stream reads its large inputs whole; a stage that computes with
    // TensorFlow.js makes a scaled copy of what it holds.
    const whole = Object.entries(sh.inputs)
      .map(([input, shape]) => ({ stage: name, name: input, bytes: arrayBytes(shape) ?? 0 }))
      .filter((a) => a.bytes >= streamBytes && !s.def.streams);
    const small = Object.values(sh.inputs)
      .map((shape) => arrayBytes(shape) ?? 0)
      .filter((b) => b < streamBytes);
    const bytes = whole.reduce((a, b) => a + b.bytes, 0) + (s.def.usesBackend ? small.reduce((a, b) => a + b, 0) : 0);
    if (!working || bytes > working.bytes) working = { stage: name, bytes, inputs: whole };
  }

  const disk = written.reduce((a, b) => a + b.bytes, 0);
  if (disk > limits.disk.bytes) {
    const largest = [...written].sort((a, b) => b.bytes - a.bytes);
    const top = plan.stages.find((s) => s.spec.name === largest[0]!.stage)!;
    const smaller = top.def.name === 'simulate' ? `--set ${top.spec.name}.n=…, or fewer x.points` : 'fewer datasets';
    throw tooLarge(
      plan.pipeline.stageAt?.[top.spec.name],
      `this run would write about ${formatBytes(disk)} to the cache (${list(largest)}), and the disk has ${formatBytes(limits.disk.bytes)} (${limits.disk.source})`,
      `make the study smaller (${smaller}), free space (paramflow cache gc), or move the project to a larger disk`,
    );
  }
  const memory = BASELINE + held.reduce((a, b) => a + b.bytes, 0) + (working?.bytes ?? 0);
  if (memory > limits.memory.bytes) {
    const culprit = working && working.inputs.length > 0 ? working : undefined;
    const why = culprit
      ? `stage \`${culprit.stage}\` reads ${list(culprit.inputs)} whole (it does not stream)`
      : `arrays under PARAMFLOW_STREAM_BYTES (${formatBytes(streamBytes)}) are held in memory: ${list([...held].sort((a, b) => b.bytes - a.bytes))}`;
    throw tooLarge(
      plan.pipeline.stageAt?.[culprit?.stage ?? held[0]?.stage ?? plan.stages[0]!.spec.name],
      `this run would need about ${formatBytes(memory)} of memory: ${why}; the limit is ${formatBytes(limits.memory.bytes)} (${limits.memory.source})`,
      culprit
        ? `make the study smaller, or have ${culprit.stage}'s stage stream its inputs (\`streams: true\`: docs/large-data.md)`
        : 'lower PARAMFLOW_STREAM_BYTES so that more arrays are streamed, or make the study smaller',
    );
  }
  return { diskBytes: disk, memoryBytes: memory, limits };
}

/** What a run was estimated to write and hold, against what the machine allows. */
export interface ResourceEstimate {
  diskBytes: number;
  memoryBytes: number;
  limits: ResourceLimits;
}

/** One line for `run --dry-run`. */
export function describeEstimate(e: ResourceEstimate): string {
  const { disk, memory } = e.limits;
  return `estimate: writes about ${formatBytes(e.diskBytes)} to the cache (${formatBytes(disk.bytes)} ${disk.source.startsWith('free') ? disk.source : `allowed: ${disk.source}`}), holds about ${formatBytes(e.memoryBytes)} in memory (limit ${formatBytes(memory.bytes)}: ${memory.source})`;
}

function list(uses: readonly ArrayUse[]): string {
  const shown = uses.slice(0, 4).map((u) => `${u.stage} ${u.name} ${formatBytes(u.bytes)}`);
  return shown.join(', ') + (uses.length > 4 ? `, and ${uses.length - 4} more` : '');
}

function tooLarge(at: SourceLocation | undefined, message: string, hint: string): ParamflowError {
  return new ParamflowError('PF_TOO_LARGE', message, { ...(at ? { location: at } : {}), hint });
}
