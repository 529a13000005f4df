import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPipeline, type LoadOptions } from '../../src/config/load-pipeline.js';
import type { Override, PipelineSpec } from '../../src/config/spec.js';
import { ParamflowError, InputErrors } from '../../src/util/errors.js';
import { planPipeline } from '../../src/pipeline/plan.js';
import { builtinRegistry, type StageRegistry } from '../../src/stage-contract/registry.js';

const BASE = `
name: study
seed: 7
stages:
  simulate:
    uses: simulate
    with:
      n: 20
      model: damped-sine
      x: { start: 0, stop: 10, points: 8 }
      params:
        A: { uniform: [0.5, 2.0] }
        B: { loguniform: [0.01, 1.0] }
        C: { uniform: [1, 5] }
        D: { uniform: [0, 3.14159] }
  noise:
    uses: add-noise
    needs: [simulate]
    with: { gaussian: { relative: 0.05 } }
  folds:
    uses: split-folds
    needs: [noise]
`;

// BASE with every mapping's keys reordered (stages too), numbers spelled otherwise
// (2e1, 1.0e1, 0.0, 4.0) and the defaults (jitter, dtype, k, holdout) written out.
const SAME_AS_BASE = `
stages:
  folds:
    with: { holdout: 0, k: 4.0 }
    needs: [noise]
    uses: split-folds
  noise:
    with: { gaussian: { relative: 5e-2 } }
    needs: [simulate]
    uses: add-noise
  simulate:
    with:
      params:
        D: { uniform: [0.0, 3.14159] }
        C: { uniform: [1.0, 5] }
        B: { loguniform: [1e-2, 1] }
        A: { uniform: [5e-1, 2] }
      dtype: float32
      x: { points: 8, jitter: 0, stop: 1.0e1, start: 0.0 }
      model: damped-sine
      n: 2e1
    uses: simulate
seed: 7
name: study
`;

let tmp: string;
let registry: StageRegistry;
let count = 0;

beforeAll(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'pf-load-')));
  registry = await builtinRegistry();
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** Writes `text` as a pipeline file in a fresh project folder (with `.paramflow/`). */
function writePipeline(text: string, sub = ''): string {
  const project = join(tmp, `p${count++}`);
  mkdirSync(join(project, '.paramflow'), { recursive: true });
  mkdirSync(join(project, sub), { recursive: true });
  const file = join(project, sub, 'pipeline.yaml');
  writeFileSync(file, text);
  return file;
}

const load = (file: string, options: Partial<LoadOptions> = {}) =>
  loadPipeline(file, { registry, env: {}, ...options });
const stage = (p: PipelineSpec, name: string) => p.stages.find((s) => s.name === name)!;
const sets = (...texts: string[]): Override[] => texts.map((text) => ({ text }));
const keysOf = async (p: PipelineSpec) =>
  Object.fromEntries((await planPipeline(p, registry)).stages.map((s) => [s.spec.name, s.key.value]));

async function loadError(file: string, options: Partial<LoadOptions> = {}): Promise<ParamflowError> {
  try {
    await load(file, options);
  } catch (err) {
    expect(err).toBeInstanceOf(ParamflowError);
    return err as ParamflowError;
  }
  throw new Error('expected loadPipeline to refuse the file');
}

describe('loadPipeline', () => {
  it('returns the typed spec: stages in file order, paths absolute', async () => {
    const file = writePipeline(BASE);
    const p = await load(file);
    expect(p.file).toBe(file);
    expect(p.dir).toBe(join(file, '..'));
    expect(p.name).toBe('study');
    expect(p.seed).toBe(7);
    expect(p.stages.map((s) => s.name)).toEqual(['simulate', 'noise', 'folds']);
    expect(stage(p, 'noise')).toMatchObject({ uses: 'add-noise', needs: ['simulate'] });
    expect(stage(p, 'simulate').needs).toEqual([]);
  });

  it('fills in defaults: split-folds k=4 when with: is omitted', async () => {
    const p = await load(writePipeline(BASE));
    expect(stage(p, 'folds').with).toEqual({ k: 4, holdout: 0 });
    expect((stage(p, 'simulate').with.x as { jitter: number }).jitter).toBe(0);
    expect(stage(p, 'simulate').with.dtype).toBe('float32');
    expect((p.resolved.stages as Record<string, { with: unknown }>).folds?.with).toEqual({ k: 4, holdout: 0 });
  });

  it("resolves each stage's inputs to the needed stage that outputs them", async () => {
    const p = await load(writePipeline(BASE));
    expect(stage(p, 'simulate').inputs).toEqual({});
    expect(stage(p, 'noise').inputs).toEqual({ X: 'simulate', Y: 'simulate', targets: 'simulate' });
    expect(stage(p, 'folds').inputs).toEqual({ targets: 'noise' });
  });

  describe('seeds', () => {
    it('derives a 32-bit seed per stage from the pipeline seed and the name, stably', async () => {
      const a = await load(writePipeline(BASE));
      const b = await load(writePipeline(BASE));
      const seeds = a.stages.map((s) => s.seed);
      expect(b.stages.map((s) => s.seed)).toEqual(seeds);
      for (const s of seeds) expect(Number.isInteger(s) && s >= 0 && s < 2 ** 32).toBe(true);
      expect(new Set(seeds).size).toBe(seeds.length);
    });

    it('changes every derived seed with the pipeline seed', async () => {
      const a = await load(writePipeline(BASE));
      const b = await load(writePipeline(BASE.replace('seed: 7', 'seed: 8')));
      for (const s of a.stages) expect(stage(b, s.name).seed).not.toBe(s.seed);
    });

    it('follows the stage name, not its position', async () => {
      const a = await load(writePipeline(BASE));
      const renamed = await load(writePipeline(BASE.replace(/(?<!-)noise/g, 'noisy')));
      expect(stage(renamed, 'simulate').seed).toBe(stage(a, 'simulate').seed);
      expect(stage(renamed, 'noisy').seed).not.toBe(stage(a, 'noise').seed);
    });

    it("uses a stage's own seed: instead, and that changes its key", async () => {
      const a = await load(writePipeline(BASE));
      const own = await load(
        writePipeline(BASE.replace('    uses: simulate\n', '    uses: simulate\n    seed: 123\n')),
      );
      expect(stage(own, 'simulate').seed).toBe(123);
      expect(stage(own, 'noise').seed).toBe(stage(a, 'noise').seed);
      const [ka, kown] = [await keysOf(a), await keysOf(own)];
      expect(kown.simulate).not.toBe(ka.simulate);
      // ...and everything downstream, through the input keys.
      expect(kown.noise).not.toBe(ka.noise);
    });

    it('--set seed=… changes the derived seeds and every key', async () => {
      const file = writePipeline(BASE);
      const [a, b] = [await load(file), await load(file, { overrides: sets('seed=8') })];
      expect(b.seed).toBe(8);
      const [ka, kb] = [await keysOf(a), await keysOf(b)];
      for (const name of Object.keys(ka)) expect(kb[name]).not.toBe(ka[name]);
    });
  });

  describe('canonical form', () => {
    it('gives the same resolved pipeline, stage keys and run hash for key order, number spelling and written defaults', async () => {
      const a = await load(writePipeline(BASE));
      const b = await load(writePipeline(SAME_AS_BASE));
      expect(b.resolved).toEqual(a.resolved);
      const [pa, pb] = [await planPipeline(a, registry), await planPipeline(b, registry)];
      const keys = (plan: typeof pa) => Object.fromEntries(plan.stages.map((s) => [s.spec.name, s.key.value]));
      expect(keys(pb)).toEqual(keys(pa));
      expect(pb.runHash).toBe(pa.runHash);
    });

    it('gives the same run hash when needs are listed in another order', async () => {
      const twoNeeds = (needs: string) =>
        BASE.replace('  folds:\n    uses: split-folds\n    needs: [noise]\n', '').replace(
          'needs: [simulate]',
          `needs: [${needs}]`,
        ) + '  folds:\n    uses: split-folds\n    needs: [simulate]\n';
      const a = await load(writePipeline(twoNeeds('simulate, folds')));
      const b = await load(writePipeline(twoNeeds('folds, simulate')));
      expect(stage(a, 'noise').inputs).toEqual(stage(b, 'noise').inputs);
      const [pa, pb] = [await planPipeline(a, registry), await planPipeline(b, registry)];
      expect(pb.stages.map((s) => s.key.value)).toEqual(pa.stages.map((s) => s.key.value));
      expect(pb.runHash).toBe(pa.runHash);
    });

    it('treats an omitted pipeline seed as the default 0', async () => {
      const omitted = await load(writePipeline(BASE.replace('seed: 7\n', '')));
      const written = await load(writePipeline(BASE.replace('seed: 7', 'seed: 0')));
      expect(omitted.seed).toBe(0);
      expect(omitted.resolved).toEqual(written.resolved);
      expect((await planPipeline(omitted, registry)).runHash).toBe((await planPipeline(written, registry)).runHash);
    });

    it('keeps stage keys but changes the run hash when only the pipeline name changes', async () => {
      const file = writePipeline(BASE);
      const [a, b] = [await load(file), await load(file, { overrides: sets('name=renamed') })];
      expect(b.name).toBe('renamed');
      expect(await keysOf(b)).toEqual(await keysOf(a));
      expect((await planPipeline(b, registry)).runHash).not.toBe((await planPipeline(a, registry)).runHash);
    });

    it('ignores descriptions', async () => {
      const a = await load(writePipeline(BASE));
      const b = await load(
        writePipeline(`description: notes\n${BASE.replace('  folds:\n', '  folds:\n    description: more notes\n')}`),
      );
      expect((await planPipeline(b, registry)).runHash).toBe((await planPipeline(a, registry)).runHash);
    });

    it('gives a different key and run hash when a param really changes', async () => {
      const a = await load(writePipeline(BASE));
      const b = await load(writePipeline(BASE.replace('relative: 0.05', 'relative: 0.06')));
      const [ka, kb] = [await keysOf(a), await keysOf(b)];
      expect(kb.simulate).toBe(ka.simulate);
      expect(kb.noise).not.toBe(ka.noise);
      expect(kb.folds).not.toBe(ka.folds);
      expect((await planPipeline(b, registry)).runHash).not.toBe((await planPipeline(a, registry)).runHash);
    });
  });

  describe('--set overrides', () => {
    it('change the value and the stage key (and downstream keys), not upstream ones', async () => {
      const file = writePipeline(BASE);
      const a = await load(file);
      const b = await load(file, { overrides: sets('noise.gaussian.relative=0.1') });
      expect(stage(b, 'noise').with).toEqual({ gaussian: { relative: 0.1 } });
      const [ka, kb] = [await keysOf(a), await keysOf(b)];
      expect(kb.simulate).toBe(ka.simulate);
      expect(kb.noise).not.toBe(ka.noise);
      expect(kb.folds).not.toBe(ka.folds);
    });

    it('give the same key as writing the value in the file', async () => {
      const viaSet = await load(writePipeline(BASE), { overrides: sets('simulate.n=30') });
      const inFile = await load(writePipeline(BASE.replace('n: 20', 'n: 30')));
      expect(stage(viaSet, 'simulate').with.n).toBe(30);
      expect(viaSet.resolved).toEqual(inFile.resolved);
      expect(await keysOf(viaSet)).toEqual(await keysOf(inFile));
    });

    it('can set a param of a stage whose with: is omitted', async () => {
      const p = await load(writePipeline(BASE), { overrides: sets('folds.k=5') });
      expect(stage(p, 'folds').with).toEqual({ k: 5, holdout: 0 });
    });

    it('apply in order: the last one wins', async () => {
      const p = await load(writePipeline(BASE), { overrides: sets('simulate.n=30', 'simulate.n=40') });
      expect(stage(p, 'simulate').with.n).toBe(40);
    });

    it('are validated like the file, and located on the command line', async () => {
      const err = await loadError(writePipeline(BASE), { overrides: [{ text: 'folds.k=1', column: 31 }] });
      expect(err.code).toBe('PF_SCHEMA');
      expect(err.location).toEqual({ file: '<command line>', line: 1, column: 31 });
      const unknown = await loadError(writePipeline(BASE), { overrides: [{ text: 'simulate.bogus=1', column: 9 }] });
      expect(unknown.code).toBe('PF_SCHEMA');
      expect(unknown.message).toContain('bogus');
      expect(unknown.location?.file).toBe('<command line>');
    });

    it('refuse an unknown stage with a hint', async () => {
      const err = await loadError(writePipeline(BASE), { overrides: sets('nois.gaussian.relative=0.1') });
      expect(err.code).toBe('PF_BAD_OVERRIDE');
      expect(err.hint).toMatch(/noise/);
    });
  });

  describe('tracking', () => {
    const withTracking = BASE.replace(
      'seed: 7\n',
      'seed: 7\ntracking: { experiment: from-file, uri: "http://file:5000" }\n',
    );

    it('defaults the experiment to the pipeline name', async () => {
      const p = await load(writePipeline(BASE));
      expect(p.tracking).toEqual({ experiment: 'study' });
    });

    it('takes tracking.experiment from the file', async () => {
      const p = await load(writePipeline(withTracking));
      expect(p.tracking).toEqual({ experiment: 'from-file', uri: 'http://file:5000' });
    });

    it('lets MLFLOW_EXPERIMENT_NAME and MLFLOW_TRACKING_URI beat the file', async () => {
      const p = await load(writePipeline(withTracking), {
        env: { MLFLOW_EXPERIMENT_NAME: 'from-env', MLFLOW_TRACKING_URI: 'http://env:5000' },
      });
      expect(p.tracking).toEqual({ experiment: 'from-env', uri: 'http://env:5000' });
    });

    it('lets --set tracking.experiment beat the environment', async () => {
      const p = await load(writePipeline(withTracking), {
        env: { MLFLOW_EXPERIMENT_NAME: 'from-env', MLFLOW_TRACKING_URI: 'http://env:5000' },
        overrides: sets('tracking.experiment=from-cli'),
      });
      expect(p.tracking.experiment).toBe('from-cli');
      // Only the key that was set on the command line beats the environment.
      expect(p.tracking.uri).toBe('http://env:5000');
    });

    it('lets --set tracking.experiment beat the environment when the file has no tracking:', async () => {
      const p = await load(writePipeline(BASE), {
        env: { MLFLOW_EXPERIMENT_NAME: 'from-env' },
        overrides: sets('tracking.experiment=from-cli'),
      });
      expect(p.tracking.experiment).toBe('from-cli');
    });

    it('reads the process environment when no env is passed', async () => {
      const file = writePipeline(BASE);
      const before = process.env.MLFLOW_EXPERIMENT_NAME;
      process.env.MLFLOW_EXPERIMENT_NAME = 'from-process-env';
      try {
        const p = await loadPipeline(file, { registry });
        expect(p.tracking.experiment).toBe('from-process-env');
      } finally {
        if (before === undefined) delete process.env.MLFLOW_EXPERIMENT_NAME;
        else process.env.MLFLOW_EXPERIMENT_NAME = before;
      }
    });

    it('does not change stage keys or the run hash', async () => {
      const a = await load(writePipeline(BASE));
      const b = await load(writePipeline(withTracking), { env: { MLFLOW_EXPERIMENT_NAME: 'x' } });
      expect((await planPipeline(b, registry)).runHash).toBe((await planPipeline(a, registry)).runHash);
    });
  });

  describe('project root', () => {
    it('is the nearest ancestor holding .paramflow or .git', async () => {
      const outer = join(tmp, `root${count++}`);
      mkdirSync(join(outer, '.paramflow'), { recursive: true });
      mkdirSync(join(outer, 'inner', '.git'), { recursive: true });
      mkdirSync(join(outer, 'inner', 'deep', 'pipelines'), { recursive: true });
      mkdirSync(join(outer, 'side'), { recursive: true });
      const deep = join(outer, 'inner', 'deep', 'pipelines', 'p.yaml');
      const side = join(outer, 'side', 'p.yaml');
      writeFileSync(deep, BASE);
      writeFileSync(side, BASE);
      expect((await load(deep)).root).toBe(join(outer, 'inner'));
      expect((await load(side)).root).toBe(outer);
    });

    it('is the pipeline folder itself when it holds .paramflow', async () => {
      const file = writePipeline(BASE);
      expect((await load(file)).root).toBe(join(file, '..'));
    });
  });

  describe('bad input', () => {
    it('refuses a stage that needs a stage that does not exist, with a did-you-mean', async () => {
      const err = await loadError(writePipeline(BASE.replace('needs: [noise]', 'needs: [nois]')));
      expect(err).toBeInstanceOf(InputErrors);
      expect(err.code).toBe('PF_UNKNOWN_NEED');
      expect(err.hint).toMatch(/noise/);
      expect(err.location?.line).toBeGreaterThan(1);
    });

    it('refuses a stage that reads an input none of its needs provides', async () => {
      const err = await loadError(writePipeline(BASE.replace('needs: [simulate]', 'needs: []')));
      expect(err.code).toBe('PF_INPUT_MISSING');
      expect(err.hint).toContain('simulate');
    });

    it('refuses a cycle before anything runs', async () => {
      const cyclic = BASE.replace('needs: [simulate]', 'needs: [simulate, folds]');
      const err = await loadError(writePipeline(cyclic));
      expect(err.code).toBe('PF_STAGE_CYCLE');
      expect(err.message).toMatch(/noise → folds → noise|folds → noise → folds/);
    });

    it('refuses an unknown stage type', async () => {
      const err = await loadError(writePipeline(BASE.replace('uses: split-folds', 'uses: split-fold')));
      expect(err.code).toBe('PF_UNKNOWN_STAGE_TYPE');
      expect(err.hint).toMatch(/split-folds/);
    });

    it('refuses a missing file with PF_FILE_NOT_FOUND', async () => {
      const err = await loadError(join(tmp, 'nope.yaml'));
      expect(err.code).toBe('PF_FILE_NOT_FOUND');
    });
  });
});
