import { hostname } from 'node:os';

/** Whether a process of this host is alive (EPERM means alive, owned by someone else). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const HOST = hostname();

/** An owner record is dead when it is on this host and its process is gone. */
export function isOwnerDead(owner: { pid: number; host: string }): boolean {
  return owner.host === HOST && !isProcessAlive(owner.pid);
}
