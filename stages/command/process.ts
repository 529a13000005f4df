import { execa } from 'execa';
import { LAUNCHER } from './supervise.js';

export interface ProcessOptions {
  cwd: string;
  env: Record<string, string>;
  shell: boolean;
  timeoutMs?: number;
  signal: AbortSignal;
  /** Each line the program writes, as it writes it. */
  onLine(stream: 'stdout' | 'stderr', line: string): void;
  /** Called once the program's process group exists, with its id. */
  onStart?(pgid: number): void;
}

export interface ProcessOutcome {
  exitCode?: number;
  signal?: string;
  timedOut: boolean;
  aborted: boolean;
  /** Why the program could not start (not found, not executable). */
  startError?: string;
  /** The last lines of stderr, for the error message. */
  stderrTail: string[];
}

const TAIL_LINES = 12;
/** After SIGTERM, how long the process tree has to exit before SIGKILL. */
const GRACE_MS = 2000;

// Process groups still running, killed if paramflow exits first (a second Ctrl-C exits at
// once) or is terminated (a sweep stopping its workers sends SIGTERM).
const live = new Set<number>();
let exitHookInstalled = false;
const FATAL_SIGNALS = ['SIGTERM', 'SIGHUP'] as const;

// While a program runs, SIGTERM/SIGHUP first take its process group down, then paramflow
// dies of the same signal as it would have without the handler.
function onFatalSignal(signal: NodeJS.Signals): void {
  for (const pid of live) killGroup(pid, 'SIGKILL');
  for (const s of FATAL_SIGNALS) process.off(s, onFatalSignal);
  process.kill(process.pid, signal);
}

function track(pid: number): void {
  if (live.size === 0) for (const s of FATAL_SIGNALS) process.on(s, onFatalSignal);
  live.add(pid);
}

function untrack(pid: number): void {
  live.delete(pid);
  if (live.size === 0) for (const s of FATAL_SIGNALS) process.off(s, onFatalSignal);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the whole group is gone already.
  }
}

/**
 * Runs a program in a process group of its own, so that on SIGINT or timeout the whole tree
 * (the program and whatever it started) is killed, not just the program. No shell unless asked.
 * Leftover processes of the group are killed when the program exits. The group's leader is a
 * launcher (supervise.ts) that kills the group when paramflow dies, even of SIGKILL.
 */
export async function runProcess(argv: readonly string[], o: ProcessOptions): Promise<ProcessOutcome> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const pid of live) killGroup(pid, 'SIGKILL');
    });
  }
  const [file, ...args] = argv;
  // fd 3: the supervisor socket; only this process holds its other end (libuv opens it close-on-exec).
  const child = execa(process.execPath, ['-e', LAUNCHER, JSON.stringify([file, args, o.shell])], {
    cwd: o.cwd,
    env: o.env,
    detached: true,
    reject: false,
    buffer: false,
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    stripFinalNewline: false,
  });
  const pid = child.pid;
  let startError: string | undefined;
  const supervisor = child.stdio[3] as NodeJS.ReadableStream | undefined;
  supervisor?.on('data', (chunk: Buffer) => {
    const m = /\{.*\}/.exec(chunk.toString('utf8'));
    if (m) startError = (JSON.parse(m[0]) as { startError?: string }).startError;
  });
  if (pid !== undefined) o.onStart?.(pid);
  const tail: string[] = [];
  const pump = (stream: 'stdout' | 'stderr') => {
    let rest = '';
    child[stream]?.on('data', (chunk: Buffer) => {
      const lines = (rest + chunk.toString('utf8')).split(/\r?\n/);
      rest = lines.pop() ?? '';
      for (const line of lines) emit(stream, line);
    });
    child[stream]?.on('end', () => {
      if (rest) emit(stream, rest);
      rest = '';
    });
  };
  const emit = (stream: 'stdout' | 'stderr', line: string) => {
    if (stream === 'stderr') {
      tail.push(line);
      if (tail.length > TAIL_LINES) tail.shift();
    }
    o.onLine(stream, line);
  };
  pump('stdout');
  pump('stderr');

  let timedOut = false;
  let aborted = false;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => {
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    timers.push(setTimeout(() => killGroup(pid, 'SIGKILL'), GRACE_MS).unref());
  };
  const onAbort = () => {
    aborted = true;
    stop();
  };
  if (pid !== undefined) track(pid);
  if (o.signal.aborted) onAbort();
  else o.signal.addEventListener('abort', onAbort, { once: true });
  if (o.timeoutMs !== undefined) {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        stop();
      }, o.timeoutMs).unref(),
    );
  }
  try {
    const result = await child;
    if (startError === undefined && result.exitCode === undefined && !result.signal) startError = result.shortMessage;
    if (startError !== undefined) return { timedOut, aborted, startError, stderrTail: tail };
    return {
      ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
      ...(result.signal ? { signal: result.signal } : {}),
      timedOut,
      aborted,
      stderrTail: tail,
    };
  } finally {
    o.signal.removeEventListener('abort', onAbort);
    for (const t of timers) clearTimeout(t);
    // The program is done: whatever it left running in its group goes with it.
    if (pid !== undefined) {
      killGroup(pid, 'SIGKILL');
      untrack(pid);
    }
  }
}
