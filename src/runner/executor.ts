import type { StageContext, StageDefinition, StageInputs, StageResult } from '../stage/types.js';

export interface StageTask {
  def: StageDefinition<any>;
  inputs: StageInputs;
  params: Record<string, unknown>;
  ctx: StageContext;
}

// Where stage code runs. In-process today; worker processes and a job queue plug in
// here later without touching stage code or the runner's bookkeeping.
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
