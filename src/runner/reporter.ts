// What a run tells the person watching it. The CLI picks a TTY or a plain-line
// implementation; the library default says nothing.
import type { FoldEvent } from '../stage-contract/types.js';

export type StageOutcome = 'cached' | 'executed' | 'failed' | 'skipped';

export interface Reporter {
  runStart(info: { runId: string; runHash: string; pipeline: string; stages: number; backend?: string }): void;
  stageStart(stage: string, reason: string): void;
  stageProgress(stage: string, done: number, total: number, unit?: string): void;
  stageLog(stage: string, message: string): void;
  /** A fold's training as it goes (the train stage): its start, each epoch, its end. */
  stageFold?(stage: string, event: FoldEvent): void;
  stageWait(stage: string, holder: string): void;
  stageEnd(stage: string, outcome: StageOutcome, durationMs: number, detail?: string): void;
  /** A line about the run as a whole (tracking, warnings). */
  note(line: string): void;
  runEnd(info: {
    status: string;
    executed: number;
    cached: number;
    durationMs: number;
    runId: string;
    /** The run's metrics: its result, printed last. */
    metrics?: Record<string, number>;
  }): void;
}

export const silentReporter: Reporter = {
  runStart() {},
  stageStart() {},
  stageProgress() {},
  stageLog() {},
  stageWait() {},
  stageEnd() {},
  note() {},
  runEnd() {},
};
