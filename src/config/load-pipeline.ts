import { readFile } from 'node:fs/promises';
import { isSeq } from 'yaml';
import { dirname, resolve } from 'node:path';
import { InputErrors, ParamflowError, type SourceLocation } from '../errors.js';
import { topologicalOrder } from '../pipeline/dag.js';
import { deriveSeed } from '../stage/random.js';
import type { StageRegistry } from '../stage/registry.js';
import type { StageDefinition } from '../stage/types.js';
import { overrideLocation, parseOverride, type ParsedOverride } from './overrides.js';
import { findProjectRoot, resolveProjectPath } from './project-root.js';
import { didYouMean, mapSchemaErrors, type DocPath, type Locator } from './schema-errors.js';
import { schemaValidator, structuralPipelineValidator } from './schema-registry.js';
import type { Override, PipelineSpec, StageSpec } from './spec.js';
import { YamlSource } from './yaml-source.js';
import { chooseRemote } from '../cache/remote/spec.js';
import { experimentNameProblem, mlflowKeyProblems, pipelineParamKeys, TRACKING_URI_HINT, trackingUriProblem } from '../tracking/mlflow/index.js';

export interface LoadOptions {
  overrides?: readonly Override[];
  registry: StageRegistry;
  /** Environment for MLFLOW_* (defaults to process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** The pipeline's text, used instead of reading `file` (repro runs a recorded pipeline); `file` still places it. */
  text?: string;
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
  let text: string;
  try {
    text = options.text ?? (await readFile(abs, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ParamflowError('PF_FILE_NOT_FOUND', `cannot read pipeline file ${abs}${code === 'EISDIR' ? ': it is a folder' : ''}`, {
      location: { file },
      hint:
        code === 'ENOENT'
          ? 'check the path; `paramflow init` writes an example pipeline'
          : code === 'EISDIR'
            ? 'name a pipeline file (.yaml) inside the folder'
            : `check the file's permissions (${code ?? String(err)})`,
      cause: err,
    });
  }
  const source = YamlSource.parse(file, text);
  const top = source.toJS();
  if (typeof top !== 'object' || top === null || Array.isArray(top)) {
    throw new ParamflowError('PF_SCHEMA', 'a pipeline file must be a mapping with `name:` and `stages:`', {
      location: source.locate([]),
      hint: 'start from `paramflow init` or pipelines/ in the paramflow package',
    });
  }
  const stageNames = Object.keys((top as { stages?: object }).stages ?? {});
  const overrides = (options.overrides ?? []).map((o) => parseOverride(o, stageNames));
  for (const o of overrides) applyOverride(source, o);
  const located = makeLocator(source, overrides);
  const raw = source.toJS() as RawPipeline;

  const structural = structuralPipelineValidator();
  if (!structural(raw)) throw new InputErrors(mapSchemaErrors(structural.errors ?? [], [], located));

  const errors: ParamflowError[] = [];
  const root = findProjectRoot(dirname(abs));
  const seed = raw.seed ?? 0;
  const stages: StageSpec[] = [];
  for (const [name, st] of Object.entries(raw.stages)) {
    const stage = checkStage(name, st, raw, { registry: options.registry, locator: located, root, dir: dirname(abs), seed }, errors);
    if (stage) stages.push(stage);
  }
  if (errors.length === 0) {
    topologicalOrder(stages, (s) => located.locateKey(['stages', s], 'needs'));
    resolveInputs(stages, options.registry, located, errors);
  }
  if (errors.length > 0) throw new InputErrors(errors);

  const env = options.env ?? process.env;
  const cliSet = (key: string) => overrides.some((o) => o.path[0] === 'tracking' && (o.path.length === 1 || o.path[1] === key));
  const experiment = (!cliSet('experiment') && env.MLFLOW_EXPERIMENT_NAME) || raw.tracking?.experiment || raw.name;
  const uri = (!cliSet('uri') && env.MLFLOW_TRACKING_URI) || raw.tracking?.uri;
  const resolved = {
    name: raw.name,
    seed,
    stages: Object.fromEntries(stages.map((s) => [s.name, { uses: s.uses, needs: [...s.needs].sort(), with: s.with, seed: s.seed }])),
  };
  checkTracking(resolved, experiment, uri, { file }, !cliSet('uri') && env.MLFLOW_TRACKING_URI ? undefined : located.locate(['tracking', 'uri']));
  const remote = chooseRemote(env, raw.cache?.remote, dirname(abs), located.locate(['cache', 'remote']));
  return {
    file: abs,
    dir: dirname(abs),
    root,
    name: raw.name,
    seed,
    tracking: { experiment, ...(uri ? { uri } : {}) },
    stages,
    resolved,
    ...(raw.sweep ? { sweep: raw.sweep } : {}),
    ...(remote ? { cache: { remote } } : {}),
    ...(raw.executor ? { executor: raw.executor } : {}),
  };
}

// MLflow's limits are checked here, before anything runs, not discovered mid-run.
function checkTracking(resolved: Record<string, unknown>, experiment: string, uri: string | undefined, fileLocation: SourceLocation, uriLocation: SourceLocation | undefined): void {
  const errors: ParamflowError[] = [];
  for (const problem of mlflowKeyProblems(pipelineParamKeys(resolved))) {
    errors.push(new ParamflowError('PF_SCHEMA', problem, { location: fileLocation, hint: 'MLflow keys use letters, digits, `_ - . : /` and spaces, up to 250 characters: rename the stage or parameter' }));
  }
  const name = experimentNameProblem(experiment);
  if (name) errors.push(new ParamflowError('PF_SCHEMA', name, { location: fileLocation, hint: 'set tracking.experiment or MLFLOW_EXPERIMENT_NAME' }));
  const bad = uri ? trackingUriProblem(uri) : undefined;
  if (bad) {
    errors.push(new ParamflowError('PF_BAD_FLAG', bad, { location: uriLocation ?? { file: 'MLFLOW_TRACKING_URI' }, hint: TRACKING_URI_HINT }));
  }
  if (errors.length > 0) throw new InputErrors(errors);
}

function makeLocator(source: YamlSource, overrides: readonly ParsedOverride[]): Locator {
  const fromOverride = (path: DocPath) =>
    overrides.find((o) => o.path.length <= path.length && o.path.every((p, i) => String(p) === String(path[i])))?.location;
  return {
    locate: (path) => fromOverride(path) ?? source.locate(path),
    locateKey: (path, key) => fromOverride([...path, key]) ?? source.locateKey(path, key),
  };
}

function applyOverride(source: YamlSource, o: ParsedOverride): void {
  for (let i = 1; i < o.path.length; i++) {
    const parent = source.doc.getIn(o.path.slice(0, i), true);
    const seg = String(o.path[i]);
    if (isSeq(parent) && (!/^\d+$/.test(seg) || Number(seg) >= parent.items.length)) {
      throw new ParamflowError('PF_BAD_OVERRIDE', `--set ${o.text}: ${o.path.slice(0, i).join('.')} is a list of ${parent.items.length} items; \`${seg}\` is not one of its indexes`, {
        location: o.location,
        hint: `use an index from 0 to ${parent.items.length - 1}, or replace the whole list`,
      });
    }
  }
  try {
    source.doc.setIn(o.path, source.doc.createNode(o.value));
  } catch (err) {
    throw new ParamflowError('PF_BAD_OVERRIDE', `--set ${o.text}: ${o.path.slice(0, -1).join('.')} is not a mapping`, {
      location: o.location,
      hint: 'set a key inside a mapping, or replace the whole value',
      cause: err,
    });
  }
}

interface StageContextForCheck {
  registry: StageRegistry;
  locator: Locator;
  root: string;
  dir: string;
  seed: number;
}

function checkStage(name: string, st: RawStage, raw: RawPipeline, c: StageContextForCheck, errors: ParamflowError[]): StageSpec | undefined {
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
      errors.push(new ParamflowError('PF_STAGE_CYCLE', `stage \`${name}\` needs itself`, { location: c.locator.locate([...path, 'needs', i]), hint: 'remove it from its own `needs`' }));
    } else if (!Object.hasOwn(raw.stages, need)) {
      errors.push(
        new ParamflowError('PF_UNKNOWN_NEED', `stage \`${name}\` needs \`${need}\`, which is not a stage of this pipeline`, {
          location: c.locator.locate([...path, 'needs', i]),
          hint: didYouMean(need, Object.keys(raw.stages).filter((s) => s !== name)),
        }),
      );
    }
  }
  const def = resolveUses(st.uses, [...path, 'uses'], c, errors);
  if (!def) return undefined;
  const params = structuredClone(st.with ?? {});
  const validate = schemaValidator(def.schema);
  if (!validate(params)) {
    errors.push(...mapSchemaErrors(validate.errors ?? [], [...path, 'with'], c.locator));
    return undefined;
  }
  const problems = def.check?.(params) ?? [];
  for (const p of problems) {
    const at = [...path, 'with', ...p.pointer.split('/').slice(1)];
    errors.push(new ParamflowError('PF_SCHEMA', p.message, { location: c.locator.locate(at), hint: p.hint }));
  }
  for (const pointer of def.pathParams ?? []) {
    const value = pointer.split('/').slice(1).reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], params);
    if (typeof value !== 'string') continue;
    try {
      resolveProjectPath(c.root, c.dir, value, c.locator.locate([...path, 'with', ...pointer.split('/').slice(1)]));
    } catch (err) {
      errors.push(err as ParamflowError);
    }
  }
  if (problems.length > 0) return undefined;
  return { name, uses: st.uses, needs: st.needs ?? [], with: params, seed: st.seed ?? deriveSeed(c.seed, name), inputs: {} };
}

function resolveUses(uses: string, at: DocPath, c: StageContextForCheck, errors: ParamflowError[]): StageDefinition<any> | undefined {
  const location = c.locator.locate(at);
  try {
    if (uses.startsWith('.') || uses.startsWith('/')) {
      resolveProjectPath(c.root, c.dir, uses, location);
      throw new ParamflowError('PF_UNKNOWN_STAGE_TYPE', `stage modules from files (\`${uses}\`) are not supported yet`, {
        location,
        hint: `use a built-in stage: ${c.registry.names().join(', ')}`,
      });
    }
    if (uses.startsWith('npm:')) {
      throw new ParamflowError('PF_UNKNOWN_STAGE_TYPE', `stage packages (\`${uses}\`) are not supported yet`, {
        location,
        hint: `use a built-in stage: ${c.registry.names().join(', ')}`,
      });
    }
    return c.registry.get(uses, location);
  } catch (err) {
    errors.push(err as ParamflowError);
    return undefined;
  }
}

// Each declared input comes from exactly one needed stage that outputs it. Problems are
// reported once per stage (not once per input), naming every input concerned.
function resolveInputs(stages: StageSpec[], registry: StageRegistry, locator: Locator, errors: ParamflowError[]): void {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const outputsOf = (stage: string) => registry.get(byName.get(stage)!.uses).outputs.map((o) => o.name);
  for (const s of stages) {
    const def = registry.get(s.uses);
    const missing: string[] = [];
    const ambiguous = new Map<string, string[]>();
    for (const input of def.inputs) {
      const providers = s.needs.filter((n) => outputsOf(n).includes(input));
      if (providers.length === 1) s.inputs[input] = providers[0]!;
      else if (providers.length === 0 && !def.optionalInputs?.includes(input)) missing.push(input);
      else if (providers.length > 1) ambiguous.set(input, providers);
    }
    const location: SourceLocation = s.needs.length ? locator.locateKey(['stages', s.name], 'needs') : locator.locateKey(['stages'], s.name);
    const names = (xs: Iterable<string>) => [...xs].map((x) => `\`${x}\``).join(', ');
    if (missing.length > 0) {
      const candidates = stages.filter((o) => o !== s && missing.every((m) => outputsOf(o.name).includes(m))).map((o) => o.name);
      errors.push(
        new ParamflowError('PF_INPUT_MISSING', `stage \`${s.name}\` (${s.uses}) reads ${names(missing)}, but ${s.needs.length ? 'none of its needs outputs' : 'it has no `needs` to read'} ${missing.length > 1 ? 'them' : 'it'}`, {
          location,
          hint: candidates.length === 1
            ? `add \`needs: [${candidates[0]}]\``
            : candidates.length > 1
              ? `add one of ${names(candidates)} to \`needs\``
              : `add a stage that outputs ${names(missing)} and list it in \`needs\``,
        }),
      );
    }
    if (ambiguous.size > 0) {
      const providers = [...new Set([...ambiguous.values()].flat())];
      errors.push(
        new ParamflowError('PF_INPUT_AMBIGUOUS', `stage \`${s.name}\` could read ${names(ambiguous.keys())} from ${providers.map((p) => `\`${p}\``).join(' or ')}`, {
          location,
          hint: `keep only the stage whose outputs you mean in \`needs\``,
        }),
      );
    }
  }
}

export { overrideLocation };
