// Reading Slurm's answers about a job array. `squeue -h -r -o '%i|%T|%r'` prints one
// line per array task (`1234_5|RUNNING|None`); without -r, or from sacct, pending tasks
// may come folded as `1234_[3-5,7%2]`. `sacct -n -P -X -o JobID,State,ExitCode` prints
// `1234_1|CANCELLED by 1000|0:15` for finished ones, and (briefly, after a scancel of
// tasks still pending) the array's own line `1234|CANCELLED by 0|0:0`.

export interface TaskState {
  jobId: string;
  index: number;
  state: string;
  /** squeue's reason (pending) or sacct's exit code `code:signal`. */
  detail?: string;
}

/** Slurm's job states after which a task will not run again (squeue/sacct man pages, JOB STATE CODES). */
const TERMINAL = new Set([
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'REVOKED',
  'SPECIAL_EXIT',
]);

export function isTerminal(state: string): boolean {
  return TERMINAL.has(state.split(' ')[0]!.replace(/\+$/, ''));
}

/** `1234_5` → [5]; `1234_[0-3,7%2]` → [0,1,2,3,7]; a plain `1234` (not an array task) → []. */
export function arrayIndexes(id: string): { jobId: string; indexes: number[] } {
  const m = /^(\d+)_(\d+|\[([^\]]+)\])$/.exec(id.trim());
  if (!m) return { jobId: id.trim().split('_')[0]!, indexes: [] };
  if (m[3] === undefined) return { jobId: m[1]!, indexes: [Number(m[2])] };
  const indexes: number[] = [];
  for (const part of m[3].split('%')[0]!.split(',')) {
    const [range, step] = part.split(':') as [string, string | undefined];
    const [a, b] = range.split('-').map(Number) as [number, number | undefined];
    for (let i = a; i <= (b ?? a); i += step ? Number(step) : 1) indexes.push(i);
  }
  return { jobId: m[1]!, indexes };
}

/** The index of an array's own line in sacct (`4711|CANCELLED by 0`): see taskEnd. */
export const WHOLE_ARRAY = -1;

function parseLines(text: string, withDetail: (cols: string[]) => string | undefined, whole = false): TaskState[] {
  const out: TaskState[] = [];
  for (const line of text.split('\n')) {
    const cols = line.trim().split('|');
    if (cols.length < 2 || cols[0] === '' || /^JobID$/i.test(cols[0]!)) continue;
    const { jobId, indexes } = arrayIndexes(cols[0]!);
    const detail = withDetail(cols);
    if (whole && indexes.length === 0 && /^\d+$/.test(cols[0]!.trim())) indexes.push(WHOLE_ARRAY);
    for (const index of indexes) out.push({ jobId, index, state: cols[1]!.trim(), ...(detail ? { detail } : {}) });
  }
  return out;
}

/** `squeue -h -r -j <id> -o '%i|%T|%r'`. */
export function parseSqueue(text: string): TaskState[] {
  return parseLines(text, (c) => (c[2] && c[2] !== 'None' ? c[2] : undefined));
}

/** `sacct -n -P -X -j <id> -o JobID,State,ExitCode`; a task requeued appears more than once: the last line wins. */
export function parseSacct(text: string): TaskState[] {
  const byIndex = new Map<string, TaskState>();
  for (const t of parseLines(text, (c) => c[2], true)) byIndex.set(`${t.jobId}_${t.index}`, t);
  return [...byIndex.values()];
}

/**
 * A task's end in sacct's answer. Tasks Slurm never split off the array (pending ones,
 * scancelled) have no line of their own until the accounting catches up: the array's own
 * line (`4711|CANCELLED by 0`) stands for them.
 */
export function taskEnd(accounting: TaskState[], jobId: string, index: number): TaskState | undefined {
  const own = accounting.find((t) => t.jobId === jobId && t.index === index);
  if (own) return own;
  const whole = accounting.find((t) => t.jobId === jobId && t.index === WHOLE_ARRAY);
  return whole && isTerminal(whole.state) ? { ...whole, index } : undefined;
}

/** Ends Slurm imposed on a task (time limit, scancel, memory, node), not the task's own exit. */
export function stoppedBySlurm(state: string): boolean {
  const s = state.split(' ')[0]!.replace(/\+$/, '');
  return isTerminal(s) && s !== 'COMPLETED' && s !== 'FAILED';
}

/** How a finished task that left no result is reported: `CANCELLED by 1000 (exit 0:15)`. */
export function describeEnd(t: TaskState): string {
  const [code, signal] = (t.detail ?? '').split(':');
  const exit =
    t.detail && t.detail !== '0:0' ? ` (exit code ${code}${signal && signal !== '0' ? `, signal ${signal}` : ''})` : '';
  return `slurm task ${t.jobId}_${t.index} ${t.state}${exit}`;
}
