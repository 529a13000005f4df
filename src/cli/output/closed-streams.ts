// The one place a closed stdout/stderr is handled. `paramflow run … 2>&1 | head -1` closes
// the pipe after one line; Node then emits EPIPE as an 'error' event on the stream, and an
// unhandled one kills the process mid-run, its record left RUNNING. Output is a courtesy,
// the run and its record are not: on EPIPE the stream becomes a no-op and the command
// carries on to its end (and its exit code). Node already ignores SIGPIPE.

const closed = new WeakSet<NodeJS.WriteStream>();

/** True once `stream` was found closed (its reader went away). */
export function isClosed(stream: NodeJS.WriteStream): boolean {
  return closed.has(stream);
}

function silence(stream: NodeJS.WriteStream): void {
  if (closed.has(stream)) return;
  closed.add(stream);
  // Later writes are dropped at once (with their callbacks called), instead of each
  // raising ERR_STREAM_DESTROYED on a stream already torn down.
  stream.write = ((_chunk: unknown, encodingOrCb?: unknown, cb?: unknown) => {
    const done = typeof encodingOrCb === 'function' ? encodingOrCb : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  }) as typeof stream.write;
}

export function guardOutputStreams(streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr]): void {
  for (const stream of streams) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED' || err.code === 'ECONNRESET')
        return silence(stream);
      // Anything else is not a closed reader: fail as loudly as before.
      throw err;
    });
  }
}
