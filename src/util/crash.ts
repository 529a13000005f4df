// Test-only crash hook. PARAMFLOW_CRASH_AT="<point>[:<stage>][@<n>]" makes the process
// SIGKILL itself the n-th time (default 1st) it reaches <point> (for <stage>, if given),
// so crash tests stop a run at an exact place without sleeps or timing. Points:
//   cache-write          after n bytes of a cache entry's files were written (n = bytes)
//   cache-before-rename  entry complete in its temp folder, not yet renamed into place
//   cache-after-rename   entry in place, run store not yet told
//   stage-start          lock held, stage code about to run
//   stage-progress       the stage reported progress for the n-th time
//   lock-acquired        a cache key's lock was just taken
//   runstore-write       before the n-th write of run.json
//   mlflow-sent          an MLflow operation was sent, its acknowledgement not yet recorded
//   train-batch          the train stage finished its n-th batch (mid-epoch)
//   checkpoint-partial   a checkpoint's first file is written to its temp folder, the rest not
//   checkpoint-swap      the old checkpoint is moved aside, the new one not yet in place
//   spool-append         half of an MLflow spool append is written (a torn last line)
//   cache-remove         an entry was moved aside for removal (gc, verify), not yet deleted
//   worker-start         a sweep worker process started, before its first trial
// PARAMFLOW_CRASH_TRIAL=<trial id> applies the crash only while a sweep worker runs that trial.
// Never set it outside tests: SIGKILL skips every cleanup on purpose.

interface CrashSpec {
  point: string;
  stage?: string;
  n: number;
  /** PARAMFLOW_CRASH_TRIAL: crash only while running this sweep trial. */
  trial?: string;
}

let parsed: CrashSpec | null | undefined;
const counts = new Map<string, number>();
let currentTrial: string | undefined;

/** The sweep trial this process is running now (a sweep worker runs several, one at a time). */
export function setCrashTrial(trial: string | undefined): void {
  currentTrial = trial;
}

function spec(): CrashSpec | null {
  if (parsed !== undefined) return parsed;
  const raw = process.env.PARAMFLOW_CRASH_AT;
  if (!raw) return (parsed = null);
  const m = /^([a-z-]+)(?::([^@]+))?(?:@(\d+))?$/.exec(raw);
  if (!m) throw new Error(`PARAMFLOW_CRASH_AT=${raw}: expected <point>[:<stage>][@<n>]`);
  parsed = {
    point: m[1]!,
    ...(m[2] ? { stage: m[2] } : {}),
    n: m[3] ? Number(m[3]) : 1,
    ...(process.env.PARAMFLOW_CRASH_TRIAL ? { trial: process.env.PARAMFLOW_CRASH_TRIAL } : {}),
  };
  return parsed;
}

function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // SIGKILL is delivered before this line runs; keep the type checker honest.
  throw new Error('unreachable');
}

/** Counts a visit to `point`; crashes on the configured visit, after `last` (a partial write to leave behind). */
export function crashPoint(point: string, stage?: string, last?: () => void): void {
  const s = spec();
  if (
    !s ||
    s.point !== point ||
    (s.stage !== undefined && s.stage !== stage) ||
    (s.trial !== undefined && s.trial !== currentTrial)
  )
    return;
  const seen = (counts.get(point) ?? 0) + 1;
  counts.set(point, seen);
  if (seen >= s.n) {
    last?.();
    die();
  }
}

/** Byte limit for `point`, if a crash is configured there (writers stop exactly at it). */
export function crashByteLimit(point: string, stage?: string): number | undefined {
  const s = spec();
  if (!s || s.point !== point || (s.stage !== undefined && s.stage !== stage)) return undefined;
  return s.n;
}

export const crashNow = die;

// PARAMFLOW_FAULT_AT="<point>:<CODE>[@<n>]" makes the n-th visit to <point> throw a
// file-system error with that code (ENOSPC, EACCES, EROFS…) for <path>, as a full or
// read-only disk would: tests of those faults need neither root nor a small disk.
// <CODE> = SHORT makes that write store only half its bytes and then fail with ENOSPC, as
// a nearly full disk does (a short write(2), then ENOSPC): faultPoint returns true and the
// writer (src/util/atomic-write.ts, src/cache/entry-writer.ts) makes the short write.
// Points: cache-write (a cache entry's or checkpoint's file), runstore-write (run.json),
// sweep-write (sweep.json), spool-write (MLflow spool state), report-write (HTML report).
let faultSpec: { point: string; code: string; n: number } | null | undefined;
const faultCounts = new Map<string, number>();

/** Throws the configured fault at its visit; true when that fault is SHORT (the caller writes half, then fails). */
export function faultPoint(point: string, path: string): boolean {
  if (faultSpec === undefined) {
    const m = /^([a-z-]+):([A-Z]+)(?:@(\d+))?$/.exec(process.env.PARAMFLOW_FAULT_AT ?? '');
    faultSpec = m ? { point: m[1]!, code: m[2]!, n: m[3] ? Number(m[3]) : 1 } : null;
  }
  if (!faultSpec || faultSpec.point !== point) return false;
  const seen = (faultCounts.get(point) ?? 0) + 1;
  faultCounts.set(point, seen);
  if (seen !== faultSpec.n) return false;
  if (faultSpec.code === 'SHORT') return true;
  throw Object.assign(new Error(`${faultSpec.code}: injected fault, write '${path}'`), {
    code: faultSpec.code,
    path,
    syscall: 'write',
  });
}
