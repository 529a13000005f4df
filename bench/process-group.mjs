// Runs copies of one bench worker (train-bench.mjs or torch_mlp.py) in parallel, releasing each
// timed epoch in all of them at once, so that "2 cores" means two trainings overlapping in time.
import { execa } from 'execa';

/** Result lines of the workers, one per (model, batch), with samples_per_s summed over the copies. */
export async function runGroup(command, args, copies, { env, timeoutMs = 15 * 60_000 } = {}) {
  const workers = Array.from({ length: copies }, () =>
    execa(command, [...args, '--sync'], { env, reject: false, timeout: timeoutMs, stdin: 'pipe' }),
  );
  const killAll = () => workers.forEach((w) => w.kill());
  const streams = workers.map((w) => jsonLines(w));
  const results = [];
  try {
    for (;;) {
      const messages = await Promise.all(
        streams.map(async (stream, i) => {
          const m = await stream.next();
          // A worker that failed will never reach the barrier the others wait at: stop them too.
          if (m.done && (await workers[i]).failed) killAll();
          return m;
        }),
      );
      if (messages.every((m) => m.done)) break;
      if (messages.some((m) => m.done)) throw new Error('a worker stopped before the others');
      const events = messages.map((m) => m.value);
      const kind = events[0].event;
      if (events.some((e) => e.event !== kind))
        throw new Error(`workers out of step: ${events.map((e) => e.event).join(', ')}`);
      if (kind === 'ready') {
        // Same work in every copy: the smallest epoch any of them proposed.
        const samples = Math.min(...events.map((e) => e.samples));
        for (const w of workers) w.stdin.write(`go ${samples}\n`);
      } else if (kind === 'result') {
        results.push({
          ...events[0],
          samples_per_s: round1(events.reduce((sum, e) => sum + e.samples_per_s, 0)),
          copies,
        });
      }
    }
  } catch (error) {
    killAll();
    await Promise.all(workers);
    throw failure(await Promise.all(workers), error);
  }
  for (const w of workers) w.stdin.end();
  const outcomes = await Promise.all(workers);
  if (outcomes.some((o) => o.failed)) throw failure(outcomes);
  return results;
}

async function* jsonLines(worker) {
  try {
    for await (const line of worker.iterable()) if (line.startsWith('{')) yield JSON.parse(line);
  } catch {
    // the worker failed: awaiting it tells how
  }
}

function failure(outcomes, cause) {
  const bad = outcomes.find((o) => o.failed) ?? outcomes[0];
  const tail = (bad?.stderr ?? '').trim().split('\n').slice(-5).join('\n');
  return new Error(tail || bad?.shortMessage || String(cause), { cause });
}

const round1 = (x) => Math.round(x * 10) / 10;
