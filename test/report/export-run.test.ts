import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Layout } from '../../src/project/layout.js';
import { loadPipeline } from '../../src/config/load-pipeline.js';
import { ParamflowError } from '../../src/util/errors.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { exportRun, type ExportSummary } from '../../src/report/export-run.js';
import { builtinRegistry } from '../../src/stage-contract/registry.js';
import type { RunRecord } from '../../src/tracking/run-record.js';
import { makeProject, SMALL_PIPELINE } from '../helpers/project.js';
import { runRecord } from '../helpers/run-record.js';

/** A record of `pipeline.yaml` in `dir` as the runner would start it (keys and hash from the plan). */
async function plannedRecord(dir: string, overrides: string[]): Promise<RunRecord> {
  const registry = await builtinRegistry();
  const pipeline = await loadPipeline(join(dir, 'pipeline.yaml'), {
    registry,
    overrides: overrides.map((text) => ({ text })),
    env: {},
  });
  const plan = await planPipeline(pipeline, registry);
  const keys = Object.fromEntries(plan.stages.map((s) => [s.spec.name, s.key.value]));
  const r = runRecord('20261125-100000-000-aaaa', keys, {
    runHash: plan.runHash,
    resolved: pipeline.resolved,
    pipeline: {
      name: pipeline.name,
      file: relative(pipeline.root, pipeline.file),
      experiment: pipeline.tracking.experiment,
    },
    options: { noCache: false, overrides },
  });
  for (const s of plan.stages) Object.assign(r.stages[s.spec.name]!, { type: s.def.name, details: s.key.details });
  return r;
}

async function hashOf(file: string): Promise<string> {
  const registry = await builtinRegistry();
  return (await planPipeline(await loadPipeline(file, { registry, env: {} }), registry)).runHash;
}

describe('exportRun', () => {
  it("writes a pipeline.yaml whose run hash, planned from another project, is the run's; and summary.md / summary.json", async () => {
    const dir = makeProject();
    const record = await plannedRecord(dir, ['seed=11', 'noise.gaussian.relative=0.2', 'simulate.n=32']);
    const elsewhere = makeProject('');
    const out = join(elsewhere, 'sub', 'exported');
    const res = await exportRun({ record, source: 'local' }, out, { layout: new Layout(dir) });
    expect(res.files.map((f) => relative(out, f))).toEqual(['pipeline.yaml', 'summary.md', 'summary.json']);
    expect(await hashOf(join(out, 'pipeline.yaml'))).toBe(record.runHash);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as ExportSummary;
    expect(summary.run.runHash).toBe(record.runHash);
    expect(summary.run.params).toMatchObject({ seed: 11, 'noise.gaussian.relative': 0.2, 'simulate.n': 32 });
    expect(summary.rerun.runHash).toBe(record.runHash);
    expect(summary.run.stages.map((s) => s.key)).toEqual(Object.values(record.stages).map((s) => s.key));
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toContain(record.runHash);
    expect(md).toContain('paramflow run pipeline.yaml');
    expect(md).toContain('`--set noise.gaussian.relative=0.2`');
  });

  it('keeps the experiment when it is not the pipeline name (it is not part of the hash)', async () => {
    const dir = makeProject();
    const record = await plannedRecord(dir, []);
    record.pipeline.experiment = 'curve-params';
    const out = join(makeProject(''), 'x');
    await exportRun({ record, source: 'local' }, out, { layout: new Layout(dir) });
    expect(readFileSync(join(out, 'pipeline.yaml'), 'utf8')).toMatch(/^tracking:\n {2}experiment: curve-params$/m);
    expect(await hashOf(join(out, 'pipeline.yaml'))).toBe(record.runHash);
  });

  it('refuses a folder that is not empty (bad input, hint --force) and leaves it as it was; --force overwrites', async () => {
    const dir = makeProject(SMALL_PIPELINE);
    const record = await plannedRecord(dir, []);
    const out = join(dir, 'busy');
    mkdirSync(out);
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const err = await exportRun({ record, source: 'local' }, out, { layout: new Layout(dir) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ParamflowError);
    expect((err as ParamflowError).exitCode).toBe(2);
    expect((err as ParamflowError).message).toMatch(/not empty.*notes\.txt/);
    expect((err as ParamflowError).hint).toMatch(/--force/);
    expect(() => readFileSync(join(out, 'pipeline.yaml'))).toThrow();
    await exportRun({ record, source: 'local' }, out, { layout: new Layout(dir), force: true });
    expect(readFileSync(join(out, 'pipeline.yaml'), 'utf8')).toContain(record.runHash);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('refuses a path that is a file', async () => {
    const dir = makeProject();
    const record = await plannedRecord(dir, []);
    const err = await exportRun({ record, source: 'local' }, join(dir, 'pipeline.yaml'), {
      layout: new Layout(dir),
      force: true,
    }).catch((e: unknown) => e);
    expect((err as ParamflowError).code).toBe('PF_BAD_FLAG');
    expect((err as ParamflowError).message).toMatch(/not a folder/);
  });

  it('notes what else the keys depend on: the backend, files read by params', async () => {
    const dir = makeProject();
    const record = await plannedRecord(dir, []);
    record.stages.folds!.details.env = { backend: 'wasm', tfjs: '4.22.0' };
    record.stages.simulate!.details.files = { 'data/x.csv': 'a'.repeat(64) };
    const res = await exportRun({ record, source: 'local' }, join(dir, 'out'), { layout: new Layout(dir) });
    expect(res.notes).toEqual([
      expect.stringMatching(/^stage simulate reads data\/x\.csv/),
      expect.stringMatching(/folds include the TensorFlow\.js backend \(wasm, tfjs 4\.22\.0\).*--backend wasm/),
    ]);
  });
});
