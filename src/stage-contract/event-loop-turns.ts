import { setImmediate as nextTurn } from 'node:timers/promises';

// A long synchronous loop (simulating a million curves, one fused training step after
// another) never lets the event loop run, so SIGINT's handler cannot abort the stage's
// signal until the loop ends. One turn every 50 ms costs microseconds and lets Ctrl-C
// stop a stage within a few milliseconds of work.
const TURN_MS = 50;

/** Turns of the event loop for long loops: `if (turns.due()) await turns.take();` once per unit of work. */
export class EventLoopTurns {
  private last = performance.now();

  constructor(
    private readonly signal: AbortSignal,
    private readonly everyMs = TURN_MS,
  ) {}

  /** Whether a turn is due: cheap enough to ask once per curve. */
  due(): boolean {
    return this.signal.aborted || performance.now() - this.last >= this.everyMs;
  }

  /** One turn of the event loop (none once aborted): the caller checks the signal after it. */
  async pass(): Promise<void> {
    if (!this.signal.aborted) await nextTurn();
    this.last = performance.now();
  }

  /** One turn of the event loop, then the signal's reason thrown if it was aborted meanwhile. */
  async take(): Promise<void> {
    await this.pass();
    this.signal.throwIfAborted();
  }
}
