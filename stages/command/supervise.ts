import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { HOST } from '../../src/util/process-alive.js';

// A command's program runs in a process group of its own (so Ctrl-C and timeouts take the
// whole tree down), which also means a SIGKILL of paramflow, which no handler sees, used to
// leave it running: it finished its side effects after the run was recorded KILLED, and the
// next run started a second copy beside it. Two guards:
//
// 1. A launcher (LAUNCHER, a few lines of Node, the leader of the program's group) holds one end
//    of a socket whose other end only paramflow holds. The kernel closes it when paramflow dies,
//    however it dies; the launcher then SIGKILLs its whole group, program included.
// 2. Each start is recorded in the stage's checkpoint (group id, host, a random token also put in
//    the program's environment). The next run of the stage, before starting the program again,
//    ends any process still in that group that carries the token: leftovers that outlived their
//    launcher (e.g. the launcher was killed too). The token makes a reused pid harmless.

/** Environment variable carrying a start's token (in the program's environment). */
export const TOKEN_VAR = 'PARAMFLOW_COMMAND_TOKEN';

/**
 * The launcher, run as `node -e LAUNCHER <json [file, args, shell]>` with fd 3 the supervisor
 * socket. It passes signals of its group to the program (it ignores them itself), reports a
 * program that cannot start on fd 3, and ends as the program ended (same code or signal).
 */
export const LAUNCHER = `
const { spawn } = require('child_process');
const net = require('net');
const [file, args, shell] = JSON.parse(process.argv[1]);
const sup = new net.Socket({ fd: 3, readable: true, writable: true });
const orphaned = () => { try { process.kill(-process.pid, 'SIGKILL'); } catch {} process.exit(137); };
sup.on('end', orphaned);
sup.on('error', orphaned);
sup.resume();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'];
for (const s of SIGNALS) process.on(s, () => {});
const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ignore'], shell });
child.on('error', (e) => { sup.write(JSON.stringify({ startError: e.message }) + '\\n', () => process.exit(127)); });
child.on('exit', (code, signal) => {
  if (signal) {
    for (const s of SIGNALS) process.removeAllListeners(s);
    process.kill(process.pid, signal);
    setTimeout(() => process.exit(128 + (require('os').constants.signals[signal] || 0)), 200);
  } else {
    process.exit(code);
  }
});
`;

export interface StartRecord {
  pgid: number;
  host: string;
  token: string;
}

export function newToken(): string {
  return randomBytes(12).toString('hex');
}

/**
 * Ends what is left of an earlier start of this stage (see 2. above): every process of group
 * `r.pgid` whose environment holds its token. Returns the pids it killed. Needs /proc (Linux);
 * elsewhere it finds none (guard 1 still holds).
 */
export async function endLeftovers(r: StartRecord): Promise<number[]> {
  if (r.host !== HOST) return [];
  const names = await readdir('/proc').catch(() => [] as string[]);
  const killed: number[] = [];
  const marker = `${TOKEN_VAR}=${r.token}`;
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces): state, ppid, pgrp, …
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp !== r.pgid) continue;
      const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
      if (!environ.split('\0').includes(marker)) continue;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone meanwhile, or not ours to read: not a leftover we can end.
    }
  }
  return killed;
}
