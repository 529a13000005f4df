import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { ParamflowError } from '../../src/util/errors.js';
import {
  defineStage,
  type Artifact,
  type OutputSpec,
  type ParamProblem,
  type StageContext,
  type StageInputs,
  type StagePorts,
  type StageResult,
} from '../../src/stage-contract/types.js';
import { artifactPath, envName, readMetrics, readOutput, readPlots, writeArtifact } from './files.js';
import type { ProcessOutcome } from './process.js';
import type { StartRecord } from './supervise.js';
import { HOST } from '../../src/util/process-alive.js';
import { parseRun, placeholders, render, shellQuote, type Placeholder } from './template.js';

export interface CommandParams {
  run: string | string[];
  outputs: string[];
  deps: string[];
  params: Record<string, unknown>;
  env: Record<string, string>;
  shell: boolean;
  timeout?: number;
  python?: string;
}

/** Names the command stage gives its own extras (metrics.json, PNGs in the output folder). */
const RESERVED = ['metrics', 'plots'];
/** Words in `run` with these extensions are scripts: their content goes into the key. */
const SCRIPT = /\.(py|js|mjs|cjs|ts|mts|R|r|jl|sh|bash|rb|pl|m|lua)$/;
const PYTHON = /^python(3(\.\d+)?)?$/;
/** In the stage's checkpoint: the running program's group and token (supervise.ts). */
const START_FILE = 'command-start.json';

export function declaredOutputs(params: Pick<CommandParams, 'outputs'>): OutputSpec[] {
  return params.outputs.map((o) => {
    if (o.endsWith('/')) return { name: o.slice(0, -1), kind: 'folder' };
    if (o.endsWith('.json')) return { name: o.slice(0, -5), kind: 'json' };
    return { name: o.replace(/\.npy$/, ''), kind: 'ndarray' };
  });
}

function checkCommand(params: CommandParams): ParamProblem[] {
  const problems: ParamProblem[] = [];
  let words;
  try {
    words = parseRun(params.run, params.shell);
  } catch (err) {
    return [
      {
        pointer: '/run',
        message: `run: ${(err as Error).message}`,
        hint: 'quote words with spaces, or write run as a list of words',
      },
    ];
  }
  const outputs = declaredOutputs(params);
  const names = outputs.map((o) => o.name);
  for (const [i, o] of outputs.entries()) {
    if (RESERVED.includes(o.name) || ['manifest', 'COMPLETE'].includes(o.name)) {
      problems.push({
        pointer: `/outputs/${i}`,
        message: `output name \`${o.name}\` is reserved`,
        hint: "metrics.json and PNGs in {out} become the stage's metrics and plots by themselves; rename the output",
      });
    } else if (names.indexOf(o.name) !== i) {
      problems.push({ pointer: `/outputs/${i}`, message: `output \`${o.name}\` is declared twice`, hint: 'keep one' });
    }
  }
  for (const p of placeholders(words)) {
    if (p.kind === 'outputs' && !names.includes(p.path[0]!)) {
      problems.push({
        pointer: '/run',
        message: `run refers to ${p.text}, which is not a declared output`,
        hint: names.length
          ? `declared outputs: ${names.map((n) => `\`${n}\``).join(', ')}; add it to outputs`
          : `declare it: outputs: [${p.path[0]}]`,
      });
    }
    if (p.kind === 'params' && p.path.length > 0 && lookup(params.params, p.path) === undefined) {
      problems.push({
        pointer: '/run',
        message: `run refers to ${p.text}, which is not set under params`,
        hint: `add it: params: { ${p.path.join('.')}: … }`,
      });
    }
  }
  return problems;
}

function ports(params: CommandParams): StagePorts {
  const words = parseRun(params.run, params.shell);
  const inputs = [
    ...new Set(
      placeholders(words)
        .filter((p) => p.kind === 'inputs')
        .map((p) => p.path.join('.')),
    ),
  ];
  const scripts = words.flatMap((parts) =>
    parts.length === 1 && typeof parts[0] === 'string' && SCRIPT.test(parts[0]) ? [parts[0]] : [],
  );
  return {
    inputs,
    outputs: declaredOutputs(params),
    files: [...params.deps],
    ...(scripts.length ? { optionalFiles: scripts } : {}),
  };
}

/** External programs as stages: `uses: command` with `run`, `outputs`, `deps` under `with:`. */
export const command = defineStage<CommandParams>({
  name: 'command',
  version: '1',
  schema: 'stages/command.schema.json',
  inputs: [],
  outputs: [],
  keyExcluded: ['timeout'],
  // A large input reaches the program as a file copied a chunk at a time, never whole in memory.
  streams: true,
  check: checkCommand,
  ports,
  run: runCommand,
});

async function runCommand(inputs: StageInputs, params: CommandParams, ctx: StageContext): Promise<StageResult> {
  if (!ctx.scratch || !ctx.dir) throw new Error('the command stage needs a runner that provides scratch folders');
  const work = await ctx.scratch();
  const out = join(work, 'out');
  await mkdir(out, { recursive: true });
  const outputs = declaredOutputs(params);
  const inputPaths = new Map<string, string>();
  for (const [name, a] of Object.entries(inputs)) {
    const [stage, output] = name.split('.') as [string, string];
    const path = artifactPath(join(work, 'inputs', stage), output, a.kind);
    await writeArtifact(path, a);
    inputPaths.set(name, path);
  }
  const paramsFile = join(work, 'params.json');
  await writeFile(paramsFile, JSON.stringify({ ...params.params, seed: ctx.seed }, null, 2) + '\n');
  const outputPaths = new Map(outputs.map((o) => [o.name, artifactPath(out, o.name, o.kind)]));
  for (const o of outputs) if (o.kind === 'folder') await mkdir(outputPaths.get(o.name)!, { recursive: true });

  const value = (p: Placeholder): string => {
    if (p.kind === 'inputs') return inputPaths.get(p.path.join('.'))!;
    if (p.kind === 'outputs') return outputPaths.get(p.path[0]!)!;
    if (p.kind === 'out') return out;
    if (p.kind === 'seed') return String(ctx.seed);
    if (p.path.length === 0) return paramsFile;
    const v = lookup(params.params, p.path);
    return typeof v === 'string' ? v : JSON.stringify(v);
  };
  const words = parseRun(params.run, params.shell);
  const interpreter = process.env.PARAMFLOW_PYTHON || params.python;
  const argv = words.map((w, i) => {
    const word = render(w, value, params.shell ? shellQuote : undefined);
    if (i === 0 && interpreter && !params.shell && PYTHON.test(word)) return interpreter;
    if (i === 0 && interpreter && params.shell)
      return word.replace(/^python(3(\.\d+)?)?(?=\s|$)/, shellQuote(interpreter));
    return word;
  });
  // Shown (log, errors) with project-relative paths: the absolute scratch paths are noise.
  const shown = argv.join(' ').split(`${ctx.root}/`).join('');
  ctx.log(`$ ${shown}`);
  // execa loads here, not with the registry: validating a pipeline never starts a process.
  const { runProcess } = await import('./process.js');
  const supervise = await import('./supervise.js');
  await endEarlierStart(ctx, supervise);
  const token = supervise.newToken();
  let recorded: Promise<void> | undefined;
  const outcome = await runProcess(argv, {
    onStart: (pgid) => {
      const start: StartRecord = { pgid, host: HOST, token };
      recorded = ctx.checkpoint.save({ [START_FILE]: Buffer.from(JSON.stringify(start)) }).catch(() => undefined);
    },
    cwd: ctx.dir,
    shell: params.shell,
    signal: ctx.signal,
    ...(params.timeout !== undefined ? { timeoutMs: params.timeout * 1000 } : {}),
    env: {
      ...params.env,
      [supervise.TOKEN_VAR]: token,
      PARAMFLOW_STAGE: ctx.stage,
      PARAMFLOW_SEED: String(ctx.seed),
      PARAMFLOW_PARAMS: paramsFile,
      PARAMFLOW_OUT: out,
      ...Object.fromEntries([...inputPaths].map(([n, p]) => [`PARAMFLOW_INPUT_${envName(n)}`, p])),
      ...Object.fromEntries([...outputPaths].map(([n, p]) => [`PARAMFLOW_OUTPUT_${envName(n)}`, p])),
      ...Object.fromEntries(
        Object.entries(params.params).flatMap(([k, v]) =>
          v !== null && typeof v !== 'object' ? [[`PARAMFLOW_PARAM_${envName(k)}`, String(v)]] : [],
        ),
      ),
    },
    onLine: (stream, line) => ctx.log(stream === 'stderr' ? `[stderr] ${line}` : line),
  });
  await recorded;
  ctx.signal.throwIfAborted();
  if (outcome.startError || outcome.timedOut || outcome.exitCode !== 0)
    throw commandFailed(ctx.stage, shown, outcome, params);

  const artifacts: Record<string, Artifact> = {};
  for (const o of outputs) artifacts[o.name] = await readOutput(ctx.stage, shown, outputPaths.get(o.name)!, o);
  const metrics = await readMetrics(ctx.stage, join(out, 'metrics.json'));
  const plots = await readPlots(out, new Set([...outputPaths.values()].map((p) => basename(p))));
  if (Object.keys(plots).length > 0) artifacts.plots = { kind: 'folder', files: plots };
  return { outputs: artifacts, ...(metrics ? { metrics } : {}) };
}

/**
 * A run killed while this stage's program ran may have left processes behind that outlived the
 * launcher meant to end them (supervise.ts): they would finish their side effects beside the new
 * start. The start is recorded in the stage's checkpoint (cleared once the stage is cached).
 */
async function endEarlierStart(ctx: StageContext, supervise: typeof import('./supervise.js')): Promise<void> {
  const saved = (await ctx.checkpoint.load())?.[START_FILE];
  if (!saved) return;
  let start: StartRecord;
  try {
    start = JSON.parse(Buffer.from(saved).toString('utf8')) as StartRecord;
  } catch {
    return;
  }
  const killed = await supervise.endLeftovers(start);
  if (killed.length > 0)
    ctx.log(
      `ended ${killed.length} process(es) left running by an earlier, killed run of this stage (pid ${killed.join(', ')})`,
    );
}

function commandFailed(stage: string, shown: string, o: ProcessOutcome, params: CommandParams): ParamflowError {
  const how = o.startError
    ? `could not start: ${o.startError}`
    : o.timedOut
      ? `timed out after ${params.timeout} s and was killed (with every process it started)`
      : o.signal
        ? `was killed by ${o.signal}`
        : `exited with code ${o.exitCode}`;
  const tail = o.stderrTail.length ? `\nlast stderr lines:\n${o.stderrTail.map((l) => `  | ${l}`).join('\n')}` : '';
  return new ParamflowError('PF_STAGE_FAILED', `stage ${stage}: command \`${shown}\` ${how}${tail}`, {
    hint: o.startError
      ? 'check that the program is installed and on PATH (or name it by path); python: or PARAMFLOW_PYTHON picks the Python interpreter'
      : o.timedOut
        ? 'raise with.timeout, or make the command faster'
        : `the full output is in the stage log (.paramflow/runs/<run-id>/logs/${stage}.log); the inputs it got and what it wrote are kept in .paramflow/runs/<run-id>/work/`,
  });
}

function lookup(obj: Record<string, unknown>, path: readonly string[]): unknown {
  return path.reduce<unknown>(
    (o, k) => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined),
    obj,
  );
}
