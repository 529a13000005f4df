import { dirname, resolve } from 'node:path';
import { Layout } from '../project/layout.js';
import { InputErrors, ParamflowError } from '../util/errors.js';
import { topologicalOrder } from '../util/dag.js';
import { deriveSeed } from '../stage-contract/random.js';
import type { StageRegistry } from '../stage-contract/registry.js';
import type { StageDefinition } from '../stage-contract/types.js';
import type { LoadedModule } from '../stage-contract/load-module.js';
import { applyOverride, overrideLocation, parseOverride, type ParsedOverride } from './overrides.js';
import { findProjectRoot, resolveProjectPath } from '../project/root.js';
import { readPipelineText } from './read-pipeline.js';
import { didYouMean } from '../util/did-you-mean.js';
import { mapSchemaErrors, type DocPath, type Locator } from './schema-errors.js';
import { structuralPipelineValidator } from './schema-registry.js';
import { inferShapes, type StageShapes } from './infer-shapes.js';
import { applyPorts, resolveInputs, withValidator } from './stage-ports.js';
import type { Override, PipelineSpec, StageSpec } from './spec.js';
import { YamlSource } from './yaml-source.js';

export interface LoadOptions {
  overrides?: readonly Override[];
  registry: StageRegistry;
  /** Environment for MLFLOW_* (defaults to process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The pipeline's text, used instead of reading `file` (repro runs a recorded pipeline); `file` still places it. */
  text?: string;
  /** Leave out the `sweep:` section: a sweep trial's values arrive as overrides, and the section was checked once already. */
  withoutSweep?: boolean;
}

// A sweep validates every trial as a run: the file is parsed once, and each load applies its
// overrides to a copy of the plain values (parsing per trial made 10,000 trials take 23 s).
// The parsed document is never edited: it only says where the file's values are.
let lastParsed: { file: string; text: string; source: YamlSource; top: unknown } | undefined;
function parseCached(file: string, text: string, withoutSweep: boolean): { source: YamlSource; top: unknown } {
  if (lastParsed?.file !== file || lastParsed.text !== text) {
    const source = YamlSource.parse(file, text);
    lastParsed = { file, text, source, top: source.toJS() };
  }
  const top = lastParsed.top;
  // Without the sweep's values: copying a 10,000-value grid for each of its 10,000 trials would be quadratic.
  if (withoutSweep && top && typeof top === 'object' && !Array.isArray(top)) {
    const { sweep: _, ...rest } = top as Record<string, unknown>;
    return { source: lastParsed.source, top: structuredClone(rest) };
  }
  return { source: lastParsed.source, top: structuredClone(top) };
}

const RESERVED_STAGE_NAMES = ['name', 'seed', 'tracking', 'stages', 'sweep', 'description'];

interface RawStage {
  uses: string;
  needs?: string[];
  with?: Record<string, unknown>;
  seed?: number;
}
interface RawPipeline {
  name: string;
  seed?: number;
  tracking?: { experiment?: string; uri?: string };
  stages: Record<string, RawStage>;
  description?: string;
  sweep?: PipelineSpec['sweep'];
  cache?: { remote?: string };
  executor?: PipelineSpec['executor'];
}

// The front door: file → YAML with positions → overrides → JSON Schema → typed spec.
// Everything that can be wrong with the input is found here, before anything runs.
export async function loadPipeline(file: string, options: LoadOptions): Promise<PipelineSpec> {
  const abs = resolve(file);
  const text = options.text ?? (await readPipelineText(abs, file));
  const { source, top } = parseCached(file, text, options.withoutSweep === true);
  if (typeof top !== 'object' || top === null || Array.isArray(top)) {
    throw new ParamflowError('PF_SCHEMA', 'a pipeline file must be a mapping with `name:` and `stages:`', {
      location: source.locate([]),
      hint: 'start from `paramflow init` or pipelines/ in the paramflow package',
    });
  }
  const stageNames = Object.keys((top as { stages?: object }).stages ?? {});
  const overrides = (options.overrides ?? []).map((o) => parseOverride(o, stageNames));
  const created = overrides.map((o) => applyOverride(top as Record<string, unknown>, o));
  const located = makeLocator(source, overrides, created);
  const raw = top as RawPipeline;

  const structural = structuralPipelineValidator();
  if (!structural(raw)) throw new InputErrors(mapSchemaErrors(structural.errors ?? [], [], located));

  const errors: ParamflowError[] = [];
  const root = findProjectRoot(dirname(abs));
  const seed = raw.seed ?? 0;
  const stages: StageSpec[] = [];
  const definitions: Record<string, StageDefinition<any>> = {};
  for (const [name, st] of Object.entries(raw.stages)) {
    const stage = await checkStage(
      name,
      st,
      raw,
      { registry: options.registry, locator: located, root, dir: dirname(abs), seed },
      errors,
    );
    if (stage) {
      stages.push(stage.spec);
      definitions[name] = stage.def;
    }
  }
  let shapes: Record<string, StageShapes> = {};
  if (errors.length === 0) {
    const ordered = topologicalOrder(stages, (s) => located.locateKey(['stages', s], 'needs'));
    resolveInputs(stages, definitions, located, errors);
    if (errors.length === 0) shapes = inferShapes(ordered, definitions, located, errors);
  }
  if (errors.length > 0) throw new InputErrors(errors);

  const env = options.env ?? process.env;
  const cliSet = (key: string) =>
    overrides.some((o) => o.path[0] === 'tracking' && (o.path.length === 1 || o.path[1] === key));
  const experiment = (!cliSet('experiment') && env.MLFLOW_EXPERIMENT_NAME) || raw.tracking?.experiment || raw.name;
  const uri = (!cliSet('uri') && env.MLFLOW_TRACKING_URI) || raw.tracking?.uri;
  const resolved = {
    name: raw.name,
    seed,
    stages: Object.fromEntries(
      stages.map((s) => [s.name, { uses: s.uses, needs: [...s.needs].sort(), with: s.with, seed: s.seed }]),
    ),
  };
  const uriFromEnv = !cliSet('uri') && env.MLFLOW_TRACKING_URI !== undefined && env.MLFLOW_TRACKING_URI !== '';
  return {
    file: abs,
    dir: dirname(abs),
    root,
    name: raw.name,
    seed,
    tracking: { experiment, ...(uri ? { uri } : {}) },
    trackingUriAt: uriFromEnv ? { file: 'MLFLOW_TRACKING_URI' } : located.locate(['tracking', 'uri']),
    stages,
    definitions,
    shapes,
    stageAt: Object.fromEntries(stages.map((s) => [s.name, located.locateKey(['stages'], s.name)])),
    resolved,
    ...(raw.sweep ? { sweep: raw.sweep } : {}),
    ...(raw.cache?.remote !== undefined
      ? { cacheRemote: { written: raw.cache.remote, at: located.locate(['cache', 'remote']) } }
      : {}),
    ...(raw.executor ? { executor: raw.executor } : {}),
  };
}

// A value an override wrote has no place in the file: errors inside it, or inside a key it
// added (`simulate.foo.bar=1` adds `foo`), are the command line's, not the file's.
function makeLocator(
  source: YamlSource,
  overrides: readonly ParsedOverride[],
  created: readonly (DocPath | undefined)[],
): Locator {
  const isPrefix = (prefix: DocPath, path: DocPath) =>
    prefix.length <= path.length && prefix.every((p, i) => String(p) === String(path[i]));
  const fromOverride = (path: DocPath) =>
    overrides.find((o, i) => isPrefix(o.path, path) || (created[i] !== undefined && isPrefix(created[i]!, path)))
      ?.location;
  return {
    locate: (path) => fromOverride(path) ?? source.locate(path),
    locateKey: (path, key) => fromOverride([...path, key]) ?? source.locateKey(path, key),
    locateAdded: (path) =>
      overrides.find((_, i) => created[i]?.length === path.length + 1 && isPrefix(path, created[i]!))?.location,
  };
}

interface StageContextForCheck {
  registry: StageRegistry;
  locator: Locator;
  root: string;
  dir: string;
  seed: number;
}

async function checkStage(
  name: string,
  st: RawStage,
  raw: RawPipeline,
  c: StageContextForCheck,
  errors: ParamflowError[],
): Promise<{ spec: StageSpec; def: StageDefinition<any> } | undefined> {
  const path = ['stages', name];
  if (RESERVED_STAGE_NAMES.includes(name)) {
    errors.push(
      new ParamflowError('PF_SCHEMA', `\`${name}\` is reserved and cannot name a stage`, {
        location: c.locator.locateKey(['stages'], name),
        hint: `--set ${name}=… sets the top-level key; rename the stage (reserved: ${RESERVED_STAGE_NAMES.join(', ')})`,
      }),
    );
    return undefined;
  }
  for (const [i, need] of (st.needs ?? []).entries()) {
    if (need === name) {
      errors.push(
        new ParamflowError('PF_STAGE_CYCLE', `stage \`${name}\` needs itself`, {
          location: c.locator.locate([...path, 'needs', i]),
          hint: 'remove it from its own `needs`',
        }),
      );
    } else if (!Object.hasOwn(raw.stages, need)) {
      errors.push(
        new ParamflowError(
          'PF_UNKNOWN_NEED',
          `stage \`${name}\` needs \`${need}\`, which is not a stage of this pipeline`,
          {
            location: c.locator.locate([...path, 'needs', i]),
            hint: didYouMean(
              need,
              Object.keys(raw.stages).filter((s) => s !== name),
            ),
          },
        ),
      );
    }
  }
  const usesAt = c.locator.locate([...path, 'uses']);
  let loaded: LoadedModule;
  try {
    loaded = await c.registry.resolve(st.uses, {
      root: c.root,
      dir: c.dir,
      location: usesAt,
      contracts: new Layout(c.root).modulesDir,
    });
  } catch (err) {
    errors.push(err as ParamflowError);
    return undefined;
  }
  const params = structuredClone(st.with ?? {});
  const validate = withValidator(loaded.def, st.uses, usesAt);
  if (!validate(params)) {
    errors.push(...mapSchemaErrors(validate.errors ?? [], [...path, 'with'], c.locator));
    return undefined;
  }
  let escaped = false;
  for (const pointer of loaded.def.pathParams ?? []) {
    const value = pointer
      .split('/')
      .slice(1)
      .reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], params);
    if (typeof value !== 'string') continue;
    try {
      resolveProjectPath(c.root, c.dir, value, c.locator.locate([...path, 'with', ...pointer.split('/').slice(1)]));
    } catch (err) {
      errors.push(err as ParamflowError);
      escaped = true;
    }
  }
  const problems = [...(loaded.def.check?.(params) ?? [])];
  // Files are checked (inside the project, present) before prepare may read or import them.
  const ported =
    problems.length === 0 && !escaped ? applyPorts(loaded, params, { ...c, at: [...path, 'with'] }, errors) : undefined;
  if (ported && loaded.def.prepare) {
    try {
      problems.push(...(await loaded.def.prepare(params, { dir: c.dir, root: c.root })));
    } catch (err) {
      errors.push(err as ParamflowError);
      return undefined;
    }
  }
  for (const p of problems) {
    const at = [...path, 'with', ...p.pointer.split('/').slice(1)];
    errors.push(new ParamflowError('PF_SCHEMA', p.message, { location: c.locator.locate(at), hint: p.hint }));
  }
  if (problems.length > 0 || !ported) return undefined;
  const { def, ...keyed } = ported;
  const spec: StageSpec = {
    name,
    uses: st.uses,
    needs: st.needs ?? [],
    with: params,
    // The seed is a resolved value like a schema default: the run hash and an exported
    // pipeline.yaml carry it.
    seed: st.seed ?? deriveSeed(c.seed, name),
    inputs: {},
    ...keyed,
    ...(loaded.contract ? { contract: loaded.contract } : {}),
  };
  return { spec, def };
}

export { overrideLocation };
