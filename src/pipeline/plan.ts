import { relative, resolve } from 'node:path';
import type { PipelineSpec, StageSpec } from '../config/spec.js';
import { sha256File } from '../hash/sha256.js';
import { computeRunHash, computeStageKey, type StageKey } from '../hash/stage-key.js';
import type { StageRegistry } from '../stage-contract/registry.js';
import type { StageDefinition } from '../stage-contract/types.js';
import { nativeArithmetic } from '../backend/native/addon.js';
import { fusedEnabled } from '../backend/native/fused-switch.js';
import { chooseBackend, type BackendChoice } from '../backend/probe.js';
import { topologicalOrder } from '../util/dag.js';

export interface PlannedStage {
  spec: StageSpec;
  def: StageDefinition<any>;
  key: StageKey;
  /** `with:` with path params made absolute: what the stage's `run` receives. */
  runParams: Record<string, unknown>;
}

export interface Plan {
  pipeline: PipelineSpec;
  /** Dependency order. */
  stages: PlannedStage[];
  runHash: string;
  /** The TensorFlow.js backend, when a stage computes with it (or one was requested). */
  backend?: BackendChoice;
}

export interface PlanOptions {
  /** `--backend`: refused (exit 2) if it cannot load. */
  backend?: string;
  /** Environment for PARAMFLOW_FUSED and OPENBLAS_CORETYPE (defaults to process.env). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Stage keys in dependency order; pure but for reading the files that params name. */
// The registry argument is kept for callers: the loader already resolved each stage's definition.
export async function planPipeline(
  pipeline: PipelineSpec,
  _registry?: StageRegistry,
  options: PlanOptions = {},
): Promise<Plan> {
  const order = topologicalOrder(pipeline.stages, () => ({ file: pipeline.file }));
  const needsTf = order.some((s) => pipeline.definitions[s.name]!.usesBackend);
  const backend = needsTf || options.backend ? chooseBackend(options.backend) : undefined;
  const env = options.env ?? process.env;
  if (backend) fusedEnabled(env); // a bad PARAMFLOW_FUSED is refused on every backend (exit 2)
  // On native the addon's arithmetic (its GEMM, flushed subnormals) decides the last bits; a
  // stage adds what else does (the train stage: whether its model gets the fused trainer).
  const arithmetic: Record<string, string> = backend?.name === 'native' ? { arithmetic: nativeArithmetic(env) } : {};
  const keys = new Map<string, string>();
  const stages: PlannedStage[] = [];
  for (const spec of order) {
    const def = pipeline.definitions[spec.name]!;
    const { files, runParams } = await pathParams(def, spec, pipeline);
    for (const abs of spec.keyFiles) files[relative(pipeline.root, abs)] = await sha256File(abs);
    const key = computeStageKey({
      type: def.name,
      version: def.version,
      params: keyParams(spec.with, def.keyExcluded, spec.seed),
      inputs: Object.fromEntries(spec.needs.map((n) => [n, keys.get(n)!])),
      files,
      env: {
        ...(def.usesBackend && backend
          ? {
              backend: backend.name,
              tfjs: backend.tfjsVersion,
              ...def.keyFacts?.(spec.with, { backend: backend.name, tfjsVersion: backend.tfjsVersion, env }),
              ...arithmetic,
            }
          : {}),
        ...(spec.pkg ? { package: `${spec.pkg.name}@${spec.pkg.version}` } : {}),
      },
    });
    keys.set(spec.name, key.value);
    stages.push({ spec, def, key, runParams });
  }
  return {
    pipeline,
    stages,
    runHash: computeRunHash(pipeline.resolved, Object.fromEntries(keys)),
    ...(backend ? { backend } : {}),
  };
}

async function pathParams(def: StageDefinition<any>, spec: StageSpec, pipeline: PipelineSpec) {
  const files: Record<string, string> = {};
  const runParams = structuredClone(spec.with);
  for (const pointer of def.pathParams ?? []) {
    const parts = pointer.split('/').slice(1);
    const parent = parts
      .slice(0, -1)
      .reduce<Record<string, unknown> | undefined>((o, k) => o?.[k] as Record<string, unknown> | undefined, runParams);
    const last = parts[parts.length - 1]!;
    const written = parent?.[last];
    if (typeof written !== 'string' || !parent) continue;
    const abs = resolve(pipeline.dir, written);
    files[relative(pipeline.root, abs)] = await sha256File(abs);
    parent[last] = abs;
  }
  return { files, runParams };
}

function keyParams(
  params: Record<string, unknown>,
  excluded: readonly string[] = [],
  seed: number,
): Record<string, unknown> {
  return { ...Object.fromEntries(Object.entries(params).filter(([k]) => !excluded.includes(k))), seed };
}
