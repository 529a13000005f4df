import { execa } from 'execa';
import { CLI, paramflow } from './project.js';

/**
 * A `paramflow worker` in `dir`; `line(re)` resolves at the first stderr line matching re.
 * With `netns` it runs inside that network namespace (`ip netns exec` execs node, so the pid is the worker's).
 */
export function startWorker(dir: string, env: Record<string, string>, netns?: string) {
  const options = {
    cwd: dir,
    reject: false,
    env: { ...process.env, ...env },
    buffer: false,
    stdout: 'ignore',
  } as const;
  const proc = netns
    ? execa('ip', ['netns', 'exec', netns, process.execPath, CLI, 'worker'], options)
    : paramflow(dir, ['worker'], { env, buffer: false, stdout: 'ignore' });
  let seen = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (chunk: string) => {
    seen += chunk;
    for (const w of waiters.splice(0)) w.re.test(seen) ? w.resolve() : waiters.push(w);
  });
  const line = (re: RegExp) =>
    new Promise<void>((resolve, reject) => {
      if (re.test(seen)) return resolve();
      waiters.push({ re, resolve });
      void proc.then(() => reject(new Error(`worker exited before ${re}:\n${seen}`)));
    });
  return { proc, line, log: () => seen };
}
