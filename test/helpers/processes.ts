import { execa } from 'execa';
import { expect } from 'vitest';
import { isProcessAlive } from '../../src/util/process-alive.js';

/** The PID of a process that has exited (spawned and awaited here). */
export async function deadPid(): Promise<number> {
  const child = execa(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await child;
  expect(isProcessAlive(pid)).toBe(false);
  return pid;
}
