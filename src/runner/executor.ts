import type { StageContext, StageDefinition, StageInputs, StageResult } from '../stage-contract/types.js';

export interface StageTask {
  def: StageDefinition<any>;
  inputs: StageInputs;
  params: Record<string, unknown>;
  ctx: StageContext;
}

// Where a run's stage code runs: in the run's own process. Whole runs go elsewhere a level up
// (a sweep's trials, `run --executor`): the trial executors of src/sweep/trial-executor.ts.
export interface Executor {
  readonly name: string;
  execute(task: StageTask): Promise<StageResult>;
}

export class InProcessExecutor implements Executor {
  readonly name = 'in-process';

  async execute(task: StageTask): Promise<StageResult> {
    return task.def.run(task.inputs, task.params, task.ctx);
  }
}
