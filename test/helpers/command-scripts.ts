import { readFileSync } from 'node:fs';

/** A tiny simulate stage (8 curves of 5 points) to feed command and module stages. */
export const TINY_SIMULATE = `  simulate:
    uses: simulate
    with:
      n: 8
      model: exponential-decay
      x: { start: 0, stop: 1, points: 5 }
      params: { A: { uniform: [1, 2] }, B: { uniform: [0, 1] }, C: { fixed: 0 } }
`;

/**
 * A node script (so tests need no Python) that reads a float32 .npy, scales it by
 * argv[4], writes the result as .npy, metrics.json and a PNG into $PARAMFLOW_OUT.
 */
export const SCALE_SCRIPT = `import { readFileSync, writeFileSync } from 'node:fs';
const [, , inp, out, factor] = process.argv;
const b = readFileSync(inp);
const start = 10 + b.readUInt16LE(8);
const data = new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
for (let i = 0; i < data.length; i++) data[i] *= Number(factor);
writeFileSync(out, Buffer.concat([b.subarray(0, start), Buffer.from(data.buffer)]));
writeFileSync(process.env.PARAMFLOW_OUT + '/metrics.json', JSON.stringify({ scaled: { mean: data.reduce((a, v) => a + v, 0) / data.length } }));
writeFileSync(process.env.PARAMFLOW_OUT + '/hist.png', Buffer.from([0x89, 0x50, 0x4e, 0x47]));
console.log('scaled ' + data.length + ' values');
`;

/** Fails after writing a few stderr lines. */
export const FAILING_SCRIPT = `for (let i = 1; i <= 20; i++) console.error('problem line ' + i);
process.exit(3);
`;

/** Writes nothing and exits 0. */
export const SILENT_SCRIPT = `console.log('did nothing');\n`;

/**
 * Starts a grandchild, writes both PIDs to argv[2] and says "ready" once the file is
 * complete; then both wait forever.
 */
export const TREE_SCRIPT = `import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const grandchild = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
writeFileSync(process.argv[2], JSON.stringify({ child: process.pid, grandchild: grandchild.pid }));
console.log('ready');
setInterval(() => {}, 1000);
`;

/** Whether a PID is a running process (a zombie waiting for its parent counts as dead). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
