import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ParamflowError } from '../util/errors.js';
import { canonicalJson } from '../hash/canonical-json.js';
import { writeFileAtomically } from '../util/atomic-write.js';
import type { OutputSpec, StageDefinition } from './types.js';

/**
 * What validation and planning need from a stage module, as data: recorded once per
 * module file content (`.paramflow/modules/<sha256>.json`) so that loading a pipeline
 * whose module files did not change needs no import (no tsx on a cached no-op run).
 */
export interface ModuleContract {
  name: string;
  version: string;
  schema: object;
  inputs: readonly string[];
  optionalInputs?: readonly string[];
  outputs: readonly OutputSpec[];
  keyExcluded?: readonly string[];
}

/** The contract of a definition, or undefined when it has code the loader calls (check, ports, prepare, inferShapes). */
export function contractOf(def: StageDefinition<any>): ModuleContract | undefined {
  if (def.check || def.ports || def.prepare || def.inferShapes || typeof def.schema !== 'object') return undefined;
  return {
    name: def.name,
    version: def.version,
    schema: def.schema,
    inputs: [...def.inputs],
    ...(def.optionalInputs ? { optionalInputs: [...def.optionalInputs] } : {}),
    outputs: def.outputs.map((o) => ({ name: o.name, kind: o.kind })),
    ...(def.keyExcluded ? { keyExcluded: [...def.keyExcluded] } : {}),
  };
}

export async function readContract(dir: string, digest: string): Promise<ModuleContract | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, `${digest}.json`), 'utf8')) as ModuleContract;
  } catch {
    // Absent, or unreadable (a crash mid-write is impossible: writes rename into place): import.
    return undefined;
  }
}

/** Records a contract (temp file → rename, so readers never see half of one). */
export async function writeContract(dir: string, digest: string, contract: ModuleContract): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomically(join(dir, `${digest}.json`), JSON.stringify(contract, null, 2) + '\n', {
    doing: "recording a stage module's contract",
    fsync: false,
  });
}

/**
 * A definition from a recorded contract whose `run` imports the module when the stage
 * actually runs. If the module no longer gives the same contract (a file it imports
 * changed), the record is dropped and the stage fails, asking for a re-run.
 */
export function lazyDefinition(
  contract: ModuleContract,
  load: () => Promise<StageDefinition<any>>,
  written: string,
  recordFile: string,
): StageDefinition<any> {
  return {
    ...contract,
    run: async (inputs, params, ctx) => {
      const real = await load();
      if (canonicalJson(contractOf(real) ?? null) !== canonicalJson(contract)) {
        await rm(recordFile, { force: true });
        throw new ParamflowError(
          'PF_STAGE_FAILED',
          `stage module ${JSON.stringify(written)} no longer declares what was recorded for this file content (its schema, inputs or outputs come from a file it imports, which changed)`,
          {
            hint: "run again: the stale record was removed; bump the module's version when a file it imports changes",
          },
        );
      }
      return real.run(inputs, params, ctx);
    },
  };
}
