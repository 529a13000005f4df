import { ParamflowError, type SourceLocation } from '../util/errors.js';
import { didYouMean } from '../util/did-you-mean.js';
import { resolveProjectPath } from '../project/root.js';
import { loadStageFile, loadStagePackage, type LoadedModule } from './load-module.js';
import { RESERVED_OUTPUT_NAMES } from './reserved.js';
import type { StageDefinition } from './types.js';

export { RESERVED_OUTPUT_NAMES };

/** Where a `uses:` was written: paths resolve against `dir` and must stay inside `root`. */
export interface UsesSite {
  root: string;
  dir: string;
  location: SourceLocation;
  /** Where recorded module contracts live (a module whose file is unchanged is not imported). */
  contracts?: string;
}

// Stage types by name. Registered once; a second registration of a name is a bug.
export class StageRegistry {
  private readonly stages = new Map<string, StageDefinition<any>>();

  register(def: StageDefinition<any>): void {
    if (this.stages.has(def.name)) throw new Error(`stage type ${def.name} is registered twice`);
    const clash = def.outputs.find((o) => RESERVED_OUTPUT_NAMES.includes(o.name));
    if (clash)
      throw new Error(
        `stage type ${def.name}: output name \`${clash.name}\` is reserved by the cache (${RESERVED_OUTPUT_NAMES.join(', ')})`,
      );
    this.stages.set(def.name, def);
  }

  names(): string[] {
    return [...this.stages.keys()].sort();
  }

  has(name: string): boolean {
    return this.stages.has(name);
  }

  /**
   * Any `uses:` (docs/conventions.md, uses): a bare name is a registered stage, `./x.ts` or `../x.js` a
   * module file relative to the pipeline, `npm:NAME` a package. Modules are imported
   * here, so only pipelines that use them pay for it.
   */
  async resolve(uses: string, at: UsesSite): Promise<LoadedModule> {
    if (uses.startsWith('npm:')) return loadStagePackage(uses.slice(4), at.dir, at.location);
    if (uses.startsWith('.') || uses.startsWith('/')) {
      return loadStageFile(resolveProjectPath(at.root, at.dir, uses, at.location), uses, at.location, at.contracts);
    }
    return { def: this.get(uses, at.location) };
  }

  get(name: string, location?: SourceLocation): StageDefinition<any> {
    const def = this.stages.get(name);
    if (def) return def;
    throw new ParamflowError('PF_UNKNOWN_STAGE_TYPE', `unknown stage type \`${name}\``, {
      location,
      hint: `${didYouMean(name, this.names())}; files are written ./path.ts, packages npm:NAME`,
    });
  }
}

let builtins: StageRegistry | undefined;

/** The built-in stages (importing them is cheap: heavy libraries load inside `run`). */
export async function builtinRegistry(): Promise<StageRegistry> {
  if (builtins) return builtins;
  const { builtinStages } = await import('../../stages/index.js');
  const r = new StageRegistry();
  for (const def of builtinStages) r.register(def);
  builtins = r;
  return r;
}
