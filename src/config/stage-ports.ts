import type { ValidateFunction } from 'ajv';
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ParamflowError, type SourceLocation } from '../util/errors.js';
import { canonicalJson } from '../hash/canonical-json.js';
import { sha256 } from '../hash/sha256.js';
import type { LoadedModule } from '../stage-contract/load-module.js';
import type { StageDefinition } from '../stage-contract/types.js';
import { isInside, resolveProjectPath } from '../project/root.js';
import { didYouMean } from '../util/did-you-mean.js';
import type { DocPath, Locator } from './schema-errors.js';
import { registerSchema, schemaValidator } from './schema-registry.js';
import type { PipelineSpec, StageSpec } from './spec.js';

/** The validator of a stage's `with:`: a file under schemas/ (built-ins) or the module's own schema. */
export function withValidator(def: StageDefinition<any>, uses: string, location: SourceLocation): ValidateFunction {
  if (typeof def.schema === 'string') return schemaValidator(def.schema);
  // Content-addressed id: two modules (or two versions of one) never share a compiled schema.
  const { $id: _id, $schema: _draft, ...schema } = def.schema as Record<string, unknown>;
  try {
    return registerSchema(`https://paramflow.dev/schemas/modules/${sha256(canonicalJson(schema))}.json`, schema);
  } catch (err) {
    throw new ParamflowError(
      'PF_UNKNOWN_STAGE_TYPE',
      `stage module ${JSON.stringify(uses)} has an invalid JSON Schema: ${(err as Error).message.split('\n')[0]}`,
      {
        location,
        hint: 'the schema is checked strictly (draft-07, no unknown keywords); fix it in the module',
        cause: err,
      },
    );
  }
}

interface PortSite {
  root: string;
  dir: string;
  locator: Locator;
  /** Path of the stage's `with:` in the document. */
  at: DocPath;
}

/**
 * The stage's definition as this pipeline uses it: per-stage outputs and inputs (a
 * command's), and the files whose content goes into its key (module source, deps).
 */
export function applyPorts(
  loaded: LoadedModule,
  params: Record<string, unknown>,
  site: PortSite,
  errors: ParamflowError[],
): ({ def: StageDefinition<any> } & Pick<StageSpec, 'keyFiles' | 'pkg'>) | undefined {
  const ports = loaded.def.ports?.(params) ?? {};
  const def: StageDefinition<any> =
    ports.inputs || ports.outputs
      ? { ...loaded.def, inputs: ports.inputs ?? loaded.def.inputs, outputs: ports.outputs ?? loaded.def.outputs }
      : loaded.def;
  const keyFiles = loaded.file ? [loaded.file] : [];
  let ok = true;
  for (const [i, file] of (ports.files ?? []).entries()) {
    const written = typeof file === 'string' ? file : file.path;
    const pointer = typeof file === 'string' ? ['deps', i] : file.pointer.split('/').slice(1);
    const location = site.locator.locate([...site.at, ...pointer]);
    try {
      const abs = resolveProjectPath(site.root, site.dir, written, location);
      if (!existsSync(abs) || !statSync(abs).isFile()) {
        const what = typeof file === 'string' ? 'dependency' : `${pointer[pointer.length - 1]} file`;
        throw new ParamflowError(
          'PF_FILE_NOT_FOUND',
          `${what} ${JSON.stringify(written)} ${existsSync(abs) ? 'is not a file' : 'not found'} (${abs})`,
          {
            location,
            hint: `paths resolve against the pipeline file's folder; the file's content goes into the stage key${typeof file === 'string' ? ' (deps are files: scripts, data)' : ''}`,
          },
        );
      }
      if (!keyFiles.includes(abs)) keyFiles.push(abs);
    } catch (err) {
      errors.push(err as ParamflowError);
      ok = false;
    }
  }
  for (const written of ports.optionalFiles ?? []) {
    const abs = resolve(site.dir, written);
    if (isInside(site.root, abs) && existsSync(abs) && statSync(abs).isFile() && !keyFiles.includes(abs))
      keyFiles.push(abs);
  }
  if (!ok) return undefined;
  return { def, keyFiles, ...(loaded.pkg ? { pkg: loaded.pkg } : {}) };
}

const names = (xs: Iterable<string>) => [...xs].map((x) => `\`${x}\``).join(', ');

// Each declared input comes from exactly one needed stage that outputs it. Problems are
// reported once per stage (not once per input), naming every input concerned. Inputs
// written `stage.output` (a command's) name their stage, which must be needed.
export function resolveInputs(
  stages: StageSpec[],
  definitions: PipelineSpec['definitions'],
  locator: Locator,
  errors: ParamflowError[],
): void {
  const byName = new Map(stages.map((s) => [s.name, s]));
  const outputsOf = (stage: string) => definitions[stage]!.outputs.map((o) => o.name);
  for (const s of stages) {
    const def = definitions[s.name]!;
    const missing: string[] = [];
    const ambiguous = new Map<string, string[]>();
    for (const input of def.inputs) {
      const dot = input.indexOf('.');
      if (dot > 0) {
        resolveQualified(s, input.slice(0, dot), input.slice(dot + 1), { byName, outputsOf }, locator, errors);
        continue;
      }
      const providers = s.needs.filter((n) => outputsOf(n).includes(input));
      if (providers.length === 1) s.inputs[input] = providers[0]!;
      else if (providers.length === 0 && !def.optionalInputs?.includes(input)) missing.push(input);
      else if (providers.length > 1) ambiguous.set(input, providers);
    }
    const location: SourceLocation = s.needs.length
      ? locator.locateKey(['stages', s.name], 'needs')
      : locator.locateKey(['stages'], s.name);
    if (missing.length > 0) {
      const candidates = stages
        .filter((o) => o !== s && missing.every((m) => outputsOf(o.name).includes(m)))
        .map((o) => o.name);
      errors.push(
        new ParamflowError(
          'PF_INPUT_MISSING',
          `stage \`${s.name}\` (${s.uses}) reads ${names(missing)}, but ${s.needs.length ? 'none of its needs outputs' : 'it has no `needs` to read'} ${missing.length > 1 ? 'them' : 'it'}`,
          {
            location,
            hint:
              candidates.length === 1
                ? `add \`needs: [${candidates[0]}]\``
                : candidates.length > 1
                  ? `add one of ${names(candidates)} to \`needs\``
                  : `add a stage that outputs ${names(missing)} and list it in \`needs\``,
          },
        ),
      );
    }
    if (ambiguous.size > 0) {
      const providers = [...new Set([...ambiguous.values()].flat())];
      errors.push(
        new ParamflowError(
          'PF_INPUT_AMBIGUOUS',
          `stage \`${s.name}\` could read ${names(ambiguous.keys())} from ${providers.map((p) => `\`${p}\``).join(' or ')}`,
          {
            location,
            hint: `keep only the stage whose outputs you mean in \`needs\``,
          },
        ),
      );
    }
  }
}

function resolveQualified(
  s: StageSpec,
  from: string,
  output: string,
  { byName, outputsOf }: { byName: Map<string, StageSpec>; outputsOf: (stage: string) => string[] },
  locator: Locator,
  errors: ParamflowError[],
): void {
  const location = locator.locate(['stages', s.name, 'with', 'run']);
  const ref = `{inputs.${from}.${output}}`;
  const source = byName.get(from);
  if (!source) {
    errors.push(
      new ParamflowError(
        'PF_INPUT_MISSING',
        `stage \`${s.name}\` refers to ${ref}, but there is no stage \`${from}\``,
        { location, hint: didYouMean(from, s.needs) },
      ),
    );
    return;
  }
  if (!s.needs.includes(from)) {
    errors.push(
      new ParamflowError('PF_INPUT_MISSING', `stage \`${s.name}\` refers to ${ref}, but does not need \`${from}\``, {
        location,
        hint: `add \`${from}\` to its \`needs\``,
      }),
    );
    return;
  }
  const outputs = outputsOf(from);
  if (!outputs.includes(output)) {
    errors.push(
      new ParamflowError(
        'PF_INPUT_MISSING',
        `stage \`${s.name}\` refers to ${ref}, but \`${from}\` (${source.uses}) has no output \`${output}\``,
        {
          location,
          hint: `${didYouMean(output, outputs)}; \`${from}\` outputs ${names(outputs)}`,
        },
      ),
    );
    return;
  }
  s.inputs[`${from}.${output}`] = from;
}
