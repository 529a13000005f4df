import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TINY_SIMULATE } from '../helpers/command-scripts.js';
import { makeProject, paramflow, runJson, runRecord } from '../helpers/project.js';

// A stage re-executed under --no-cache over an existing entry: its record (and the entry,
// when the bytes differ) must be this execution's, not the old entry's.

/** Scales simulate's Y by the number in factor.txt — a file its key does not cover, so the key stays while the result changes. */
const SCRIPT = `import { readFileSync, writeFileSync } from 'node:fs';
const [, , inp, out] = process.argv;
const factor = Number(readFileSync('factor.txt', 'utf8'));
const b = readFileSync(inp);
const start = 10 + b.readUInt16LE(8);
const data = new Float32Array(b.buffer.slice(b.byteOffset + start, b.byteOffset + b.length));
for (let i = 0; i < data.length; i++) data[i] *= factor;
writeFileSync(out, Buffer.concat([b.subarray(0, start), Buffer.from(data.buffer)]));
writeFileSync(process.env.PARAMFLOW_OUT + '/metrics.json', JSON.stringify({ factor }));
`;

const PIPELINE = `name: nocache
seed: 3
stages:
${TINY_SIMULATE}  scale:
    uses: command
    needs: [simulate]
    with:
      run: node scale.mjs {inputs.simulate.Y} {outputs.Y2}
      outputs: [Y2]
  copy:
    uses: command
    needs: [scale]
    with:
      run: [node, -e, "require('fs').copyFileSync(process.argv[1], process.argv[2])", "{inputs.scale.Y2}", "{outputs.copy}"]
      outputs: [copy.npy]
`;

const floats = (b: Buffer) => [
  ...new Float32Array(b.buffer.slice(b.byteOffset + 10 + b.readUInt16LE(8), b.byteOffset + b.length)),
];

describe('--no-cache over existing entries', { timeout: 120_000 }, () => {
  it("records this execution's results and replaces an entry whose bytes differ; a later cached run agrees", async () => {
    const dir = makeProject(PIPELINE);
    writeFileSync(join(dir, 'scale.mjs'), SCRIPT);
    writeFileSync(join(dir, 'factor.txt'), '2');
    const first = await runRecord(dir, (await runJson(dir)).runId);
    expect(first.stages.scale!.metrics).toEqual({ factor: 2 });

    writeFileSync(join(dir, 'factor.txt'), '3');
    const again = await runRecord(dir, (await runJson(dir, ['--no-cache'])).runId);
    expect(again.stages.scale!.key).toBe(first.stages.scale!.key);
    expect(again.stages.scale!.status).toBe('executed');
    expect(again.stages.scale!.metrics).toEqual({ factor: 3 });
    expect(again.stages.scale!.files).not.toEqual(first.stages.scale!.files);

    // The entry is the new execution's (bytes, digests and manifest).
    const entry = (stage: string, file: string) =>
      readFileSync(join(dir, '.paramflow', 'cache', again.stages[stage]!.key, file));
    const y = floats(entry('simulate', 'Y.npy'));
    expect(floats(entry('scale', 'Y2.npy'))).toEqual(y.map((v) => Math.fround(v * 3)));
    const manifest = JSON.parse(entry('scale', 'manifest.json').toString('utf8')) as {
      files: unknown;
      metrics: unknown;
    };
    expect(manifest.files).toEqual(again.stages.scale!.files);
    expect(manifest.metrics).toEqual({ factor: 3 });
    expect(floats(entry('copy', 'copy.npy'))).toEqual(floats(entry('scale', 'Y2.npy')));

    // A cached run now reports what the cache holds: the --no-cache run's results.
    const cached = await runRecord(dir, (await runJson(dir)).runId);
    expect(Object.values(cached.stages).map((s) => s.status)).toEqual(['cached', 'cached', 'cached']);
    expect(cached.stages.scale!.metrics).toEqual({ factor: 3 });
    expect((await paramflow(dir, ['cache', 'verify'])).stdout).toMatch(/3 entries checked, 0 bad/);
  });

  it('a hit built from bytes its input entry no longer holds (replaced by another pipeline) is recomputed', async () => {
    const dir = makeProject(PIPELINE);
    writeFileSync(join(dir, 'scale.mjs'), SCRIPT);
    writeFileSync(join(dir, 'factor.txt'), '2');
    const first = await runRecord(dir, (await runJson(dir)).runId);
    // The same stages without \`copy\`: same keys, and --no-cache replaces scale's entry only.
    writeFileSync(join(dir, 'short.yaml'), PIPELINE.slice(0, PIPELINE.indexOf('  copy:')));
    writeFileSync(join(dir, 'factor.txt'), '3');
    const short = await paramflow(dir, ['run', 'short.yaml', '--no-cache']);
    expect(short.exitCode, String(short.stderr)).toBe(0);

    const run = await paramflow(dir, ['run', 'pipeline.yaml', '--json']);
    expect(run.exitCode, String(run.stderr)).toBe(0);
    expect(run.stderr).toMatch(
      new RegExp(`warning: cache entry ${first.stages.copy!.key.slice(0, 12)} is stale \\(built from scale's Y2\\.npy`),
    );
    const rec = await runRecord(dir, (JSON.parse(String(run.stdout)) as { runId: string }).runId);
    expect(rec.stages.scale!.key).toBe(first.stages.scale!.key);
    expect(rec.stages.copy!.status).toBe('executed');
    const entry = (stage: string, file: string) =>
      readFileSync(join(dir, '.paramflow', 'cache', rec.stages[stage]!.key, file));
    expect(floats(entry('copy', 'copy.npy'))).toEqual(floats(entry('scale', 'Y2.npy')));
  });

  it('keeps an entry whose bytes are the same, and the record is still this execution', async () => {
    const dir = makeProject(PIPELINE);
    writeFileSync(join(dir, 'scale.mjs'), SCRIPT);
    writeFileSync(join(dir, 'factor.txt'), '2');
    const first = await runRecord(dir, (await runJson(dir)).runId);
    const again = await runRecord(dir, (await runJson(dir, ['--no-cache'])).runId);
    expect(again.stages.scale!.files).toEqual(first.stages.scale!.files);
    expect(again.stages.scale!.startedAt).not.toBe(first.stages.scale!.startedAt);
    const manifest = JSON.parse(
      readFileSync(join(dir, '.paramflow', 'cache', first.stages.scale!.key, 'manifest.json'), 'utf8'),
    ) as { created: string };
    expect(manifest.created < String(again.stages.scale!.startedAt)).toBe(true);
  });
});
