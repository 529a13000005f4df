import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ParamflowError, type SourceLocation } from '../util/errors.js';
import { packageRoot } from '../util/package-root.js';
import { sha256 } from '../hash/sha256.js';
import { RESERVED_OUTPUT_NAMES } from './reserved.js';
import { contractOf, lazyDefinition, readContract, type ModuleContract } from './module-contract.js';
import type { StageDefinition } from './types.js';

/** A stage definition loaded from the user's code, with what identifies that code in the key. */
export interface LoadedModule {
  def: StageDefinition<any>;
  /** Absolute path of the module file (its content is hashed into the stage key). */
  file?: string;
  /** `npm:NAME`: the package's name and version (in the key instead of a file digest). */
  pkg?: { name: string; version: string };
  /** A module imported now whose contract can be recorded (see module-contract.ts). */
  contract?: { digest: string; value: ModuleContract };
}

const SOURCE_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'];
const OUTPUT_KINDS = ['ndarray', 'json', 'folder'];
const STAGE_EXAMPLE = '`paramflow stage new <name>` writes one';

// The same file content is imported once per process: a sweep validates every trial
// with the same modules. The content digest is the cache key, so an edit re-imports.
const imported = new Map<string, Promise<unknown>>();

/**
 * A stage module file. When `contracts` holds the contract recorded for this exact file
 * content (name, version, schema, inputs, outputs), the module is not imported: a cached
 * no-op run of a pipeline with `.ts` stages does not start tsx. It is imported when the
 * stage runs, or when the file changed (then `contract` is returned, for the runner to record).
 */
export async function loadStageFile(
  abs: string,
  written: string,
  location: SourceLocation,
  contracts?: string,
): Promise<LoadedModule> {
  const digest = await readModuleFile(abs, written, location, 'stage module', STAGE_EXAMPLE);
  const recorded = contracts ? await readContract(contracts, digest) : undefined;
  const importDef = async () =>
    stageFromNamespace(
      await importUserModule(abs, written, location, 'stage module', STAGE_EXAMPLE),
      written,
      location,
    );
  if (recorded && contracts)
    return { def: lazyDefinition(recorded, importDef, written, join(contracts, `${digest}.json`)), file: abs };
  const def = await importDef();
  const value = contractOf(def);
  return { def, file: abs, ...(value ? { contract: { digest, value } } : {}) };
}

/** Checks the file is a module and readable; its content digest. */
async function readModuleFile(
  abs: string,
  written: string,
  location: SourceLocation,
  what: string,
  example: string,
): Promise<string> {
  if (!SOURCE_EXTENSIONS.includes(extname(abs))) {
    throw new ParamflowError('PF_UNKNOWN_STAGE_TYPE', `${what} ${JSON.stringify(written)} is not a .ts or .js file`, {
      location,
      hint: `name a module file (${SOURCE_EXTENSIONS.join(', ')}); ${example}`,
    });
  }
  try {
    return sha256(await readFile(abs));
  } catch (err) {
    throw new ParamflowError('PF_FILE_NOT_FOUND', `${what} ${JSON.stringify(written)} not found (${abs})`, {
      location,
      hint: `paths resolve against the pipeline file's folder; ${example}`,
      cause: err,
    });
  }
}

/**
 * The namespace of a user's module file (a stage, a curve model): `.ts` through tsx
 * (Node 20 cannot strip types), `.js` natively; imported once per file content.
 */
export async function importUserModule(
  abs: string,
  written: string,
  location: SourceLocation,
  what: string,
  example: string,
): Promise<unknown> {
  const digest = await readModuleFile(abs, written, location, what, example);
  return importOnce(
    `${abs}#${digest}`,
    () => importSource(abs, digest),
    `${what} ${JSON.stringify(written)}`,
    location,
  );
}

/** `npm:NAME`: a package, resolved from the pipeline's folder, whose main export is a stage definition. */
export async function loadStagePackage(name: string, fromDir: string, location: SourceLocation): Promise<LoadedModule> {
  const manifestPath = findPackage(name, fromDir);
  if (!manifestPath) {
    throw new ParamflowError('PF_UNKNOWN_STAGE_TYPE', `stage package \`${name}\` is not installed`, {
      location,
      hint: `install it next to the pipeline (\`npm install ${name}\`), or write the module as a file: uses: ./stages/${name}.ts`,
    });
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PackageManifest;
  const version = manifest.version ?? '0.0.0';
  const entry = join(dirname(manifestPath), packageEntry(manifest));
  const ns = await importOnce(
    `npm:${name}@${version}:${entry}`,
    () => importSource(entry, version),
    `stage package npm:${name}`,
    location,
  );
  return { def: stageFromNamespace(ns, `npm:${name}`, location), pkg: { name, version } };
}

/** node_modules/<name>/package.json in the folder or an ancestor, as Node would look it up. */
function findPackage(name: string, fromDir: string): string | undefined {
  for (let d = fromDir; ; d = dirname(d)) {
    const candidate = join(d, 'node_modules', name, 'package.json');
    if (existsSync(candidate)) return candidate;
    if (dirname(d) === d) return undefined;
  }
}

interface PackageManifest {
  version?: string;
  main?: string;
  exports?: string | { '.'?: string | { import?: string; default?: string } };
}

// The package's ESM entry: exports["."] (import, else default), else main.
function packageEntry(m: PackageManifest): string {
  const dot = typeof m.exports === 'string' ? m.exports : m.exports?.['.'];
  const fromExports = typeof dot === 'string' ? dot : (dot?.import ?? dot?.default);
  return fromExports ?? m.main ?? 'index.js';
}

async function importSource(abs: string, version: string): Promise<unknown> {
  if (/\.[mc]?ts$/.test(abs)) {
    // Loaded here, not at the top: tsx costs ~200 ms, paid only by pipelines with .ts stages.
    const { tsImport } = await import('tsx/esm/api');
    return tsImport(pathToFileURL(abs).href, import.meta.url);
  }
  // The query makes an edited file a new module for Node's ESM cache.
  return import(`${pathToFileURL(abs).href}?v=${version.slice(0, 16)}`);
}

function importOnce(
  id: string,
  load: () => Promise<unknown>,
  what: string,
  location: SourceLocation,
): Promise<unknown> {
  let p = imported.get(id);
  if (!p) {
    p = load().catch((err: unknown) => {
      imported.delete(id);
      throw new ParamflowError('PF_UNKNOWN_STAGE_TYPE', `${what} failed to load: ${firstLine(err)}`, {
        location,
        hint: /Cannot find (package|module) 'paramflow'/.test(String((err as Error)?.message))
          ? `install paramflow in the project from its folder (npm install --save-dev ${packageRoot()}), or export a plain object { name, version, schema, outputs, run } without importing it`
          : 'fix the error in the module (run it with `npx tsx` to see the full trace)',
        cause: err,
      });
    });
    imported.set(id, p);
  }
  return p;
}

const firstLine = (err: unknown) => String((err as Error)?.message ?? err).split('\n')[0];

/**
 * The stage definition among a module's exports: `default` (ESM, or CommonJS wrapped by
 * tsx) or a named `stage`. Checked here: a broken definition is bad input, located at `uses:`.
 */
function stageFromNamespace(ns: unknown, written: string, location: SourceLocation): StageDefinition<any> {
  const n = ns as Record<string, unknown> | undefined;
  const candidates = [n?.default, (n?.default as Record<string, unknown> | undefined)?.default, n?.stage];
  const def = candidates.find((c) => typeof c === 'object' && c !== null && 'run' in c) as
    Record<string, unknown> | undefined;
  const bad = (what: string) =>
    new ParamflowError('PF_UNKNOWN_STAGE_TYPE', `stage module ${JSON.stringify(written)} ${what}`, {
      location,
      hint: 'export default defineStage({ name, version, schema, inputs, outputs, run }) (see `paramflow stage new <name>`)',
    });
  if (!def) throw bad('does not export a stage definition (a default export with a `run` function)');
  if (typeof def.run !== 'function') throw bad('exports a definition whose `run` is not a function');
  if (typeof def.name !== 'string' || !/^[a-z][a-z0-9-]*$/.test(def.name))
    throw bad('needs a `name` in kebab-case (e.g. "my-sim")');
  if (typeof def.version !== 'string' || def.version === '')
    throw bad('needs a `version` string (bump it when results change)');
  if (typeof def.schema !== 'object' || def.schema === null || Array.isArray(def.schema)) {
    throw bad('needs a `schema`: the JSON Schema (an object) of its `with:`');
  }
  const inputs = def.inputs ?? [];
  if (!Array.isArray(inputs) || !inputs.every((i) => typeof i === 'string'))
    throw bad('has `inputs` that are not a list of output names');
  const outputs = def.outputs;
  if (!Array.isArray(outputs) || outputs.length === 0)
    throw bad('needs `outputs`: a list of { name, kind } (kind: ndarray, json or folder)');
  for (const o of outputs as { name?: unknown; kind?: unknown }[]) {
    if (typeof o?.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]*$/.test(o.name))
      throw bad(`has an output without a valid name (${JSON.stringify(o?.name)})`);
    if (!OUTPUT_KINDS.includes(String(o.kind)))
      throw bad(
        `declares output \`${o.name}\` of kind ${JSON.stringify(o.kind)}; kinds are ${OUTPUT_KINDS.join(', ')}`,
      );
    if (RESERVED_OUTPUT_NAMES.includes(o.name))
      throw bad(`declares output \`${o.name}\`, a name the cache reserves (${RESERVED_OUTPUT_NAMES.join(', ')})`);
  }
  for (const hook of ['check', 'prepare', 'ports', 'inferShapes']) {
    if (def[hook] !== undefined && typeof def[hook] !== 'function')
      throw bad(`has a \`${hook}\` that is not a function`);
  }
  if (def.usesBackend) throw bad('sets usesBackend: TensorFlow stages are built in only, for now');
  return { ...(def as unknown as StageDefinition<any>), inputs };
}
