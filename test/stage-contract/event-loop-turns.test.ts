import { describe, expect, it } from 'vitest';
import { EventLoopTurns } from '../../src/stage-contract/event-loop-turns.js';

describe('EventLoopTurns', () => {
  it('lets a callback waiting on the event loop abort a loop that would never end by itself', async () => {
    const ac = new AbortController();
    setImmediate(() => ac.abort(new Error('stop')));
    const turns = new EventLoopTurns(ac.signal, 0);
    let steps = 0;
    const loop = async () => {
      for (;;) {
        steps++;
        if (turns.due()) await turns.take();
      }
    };
    await expect(loop()).rejects.toThrow('stop');
    expect(steps).toBeGreaterThan(0);
  });

  it('is due only when its interval has passed, or at once when aborted', () => {
    const ac = new AbortController();
    const turns = new EventLoopTurns(ac.signal, 60_000);
    expect(turns.due()).toBe(false);
    ac.abort();
    expect(turns.due()).toBe(true);
    expect(new EventLoopTurns(new AbortController().signal, 0).due()).toBe(true);
  });
});
