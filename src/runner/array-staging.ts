import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HashedFile, type WriteBudget } from '../cache/entry-writer.js';
import { npyData, npyHeader } from '../format/npy.js';
import { NpyFile } from '../format/npy-file.js';
import { byteSize } from '../stage-contract/ndarray.js';
import { memorySink, sinkOverflow, sinkShort } from '../stage-contract/rows.js';
import type { ArraySink, DType } from '../stage-contract/types.js';
import { envNumber } from '../util/env-vars.js';

/** Arrays at least this large are streamed: written as computed, read by rows (PARAMFLOW_STREAM_BYTES). */
export function streamBytes(env: NodeJS.ProcessEnv = process.env): number {
  return envNumber('PARAMFLOW_STREAM_BYTES', 256 * 2 ** 20, env);
}

/**
 * Where an executing stage's large array outputs are written as it computes them: a folder
 * in the cache's temp area, on the cache's file system, so that committing the entry moves
 * each file in by rename (hashed once, as written). Smaller arrays are gathered in memory.
 */
export class ArrayStaging {
  private dir: Promise<string> | undefined;

  constructor(
    private readonly tmpDir: string,
    private readonly key: string,
    private readonly threshold: number,
    private readonly budget: WriteBudget,
  ) {}

  async create<D extends DType>(name: string, dtype: D, shape: readonly number[]): Promise<ArraySink<D>> {
    const size = shape.reduce((a, b) => a * b, 1);
    if (byteSize({ shape, dtype }) < this.threshold) return memorySink(dtype, shape);
    // One folder per execution, made once even when a stage opens its sinks at the same time.
    this.dir ??= (async () => {
      const dir = join(this.tmpDir, `${this.key}.${process.pid}.${randomBytes(4).toString('hex')}.arrays`);
      await mkdir(dir, { recursive: true });
      return dir;
    })();
    const path = join(await this.dir, `${name}.npy`);
    const file = await HashedFile.create(path, this.budget);
    await file.write(npyHeader(dtype, shape));
    let filled = 0;
    return {
      append: async (values) => {
        if (filled + values.length > size) throw sinkOverflow(shape, filled + values.length);
        await file.write(npyData({ data: values }));
        filled += values.length;
      },
      finish: async () => {
        if (filled !== size) {
          await file.abandon();
          throw sinkShort(shape, filled);
        }
        return (await NpyFile.open(path, await file.close())) as NpyFile<D>;
      },
    };
  }

  /** Removes what is left (after the entry took its files, or after a failure). */
  async clear(): Promise<void> {
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
    this.dir = undefined;
  }
}
