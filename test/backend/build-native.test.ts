import { execa } from 'execa';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { REPO } from '../helpers/project.js';

// The install-time build of the native kernels, in a copy of the package files (never the
// repository's own build/): a missing compiler must not fail the install, and says why.
const dir = mkdtempSync(join(tmpdir(), 'pf-native-build-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
for (const f of ['package.json', 'native', 'scripts']) cpSync(join(REPO, f), join(dir, f), { recursive: true });

describe('scripts/build-native.mjs', () => {
  it('exits 0 without a C compiler, recording and printing the reason', async () => {
    const r = await execa(process.execPath, ['scripts/build-native.mjs'], {
      cwd: dir,
      env: { CC: 'no-such-compiler-here', PARAMFLOW_NO_NATIVE: '' },
      reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(
      /native kernels not built \(no C compiler \(no-such-compiler-here\) on PATH\); paramflow will use the wasm backend/,
    );
    expect(existsSync(join(dir, 'build', 'native.node'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'build', 'native.json'), 'utf8'))).toMatchObject({
      ok: false,
      reason: expect.stringContaining('no C compiler'),
    });
  });

  const compiler = execa('cc', ['--version'], { reject: false }).then((r) => r.exitCode === 0);

  it(
    'builds with nothing but a C compiler: its own GEMM, no BLAS library linked',
    { timeout: 120_000 },
    async (ctx) => {
      if (!(await compiler)) ctx.skip(); // the no-compiler path is the test above
      const r = await execa(process.execPath, ['scripts/build-native.mjs', '--quiet'], {
        cwd: dir,
        env: { PARAMFLOW_NO_NATIVE: '', PARAMFLOW_BLAS: '' },
        reject: false,
      });
      expect(r.exitCode).toBe(0);
      const status = JSON.parse(readFileSync(join(dir, 'build', 'native.json'), 'utf8')) as Record<string, unknown>;
      expect(status, r.stderr).toMatchObject({
        ok: true,
        gemm: 'own',
        arithmetic: 'fma-k-order-ftz-1',
        blas: expect.stringMatching(/^paramflow GEMM, \w+ kernel$/),
      });
      // Needed libraries are named in the binary's dynamic string table.
      expect(readFileSync(join(dir, 'build', 'native.node')).includes('openblas')).toBe(false);
    },
  );

  // The opt-in's key names the core OpenBLAS picks by itself, even when the build ran with
  // OPENBLAS_CORETYPE set (a value seen only at build time would name the wrong core later).
  const cblas = [
    '/usr/include/x86_64-linux-gnu/openblas-pthread',
    '/usr/include/aarch64-linux-gnu/openblas-pthread',
    '/usr/include/openblas',
  ].some((d) => existsSync(join(d, 'cblas.h')));
  it.skipIf(!cblas)(
    'the opt-in OpenBLAS build records the core OpenBLAS picks without OPENBLAS_CORETYPE (skipped without libopenblas-dev)',
    { timeout: 120_000 },
    async (ctx) => {
      if (!(await compiler)) ctx.skip();
      const probe = (env: Record<string, string>) =>
        execa(process.execPath, ['scripts/build-native.mjs', '--quiet'], {
          cwd: dir,
          env: { PARAMFLOW_NO_NATIVE: '', PARAMFLOW_BLAS: 'openblas', ...env },
          reject: false,
        });
      const status = async (env: Record<string, string>) => {
        const r = await probe(env);
        expect(r.exitCode, r.stderr).toBe(0);
        return JSON.parse(readFileSync(join(dir, 'build', 'native.json'), 'utf8')) as {
          gemm: string;
          blas: string;
          blasCore: string;
        };
      };
      const plain = await status({ OPENBLAS_CORETYPE: '' });
      const forced = await status({ OPENBLAS_CORETYPE: 'Prescott' });
      expect(plain).toMatchObject({ gemm: 'openblas', blasCore: expect.stringMatching(/^\w+$/) });
      expect(forced.blas).toMatch(/\(core Prescott\)/);
      expect(forced.blasCore).toBe(plain.blasCore);
    },
  );

  it('refuses an unknown PARAMFLOW_BLAS without failing the install, saying the choices', async () => {
    const r = await execa(process.execPath, ['scripts/build-native.mjs'], {
      cwd: dir,
      env: { PARAMFLOW_NO_NATIVE: '', PARAMFLOW_BLAS: 'mkl' },
      reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('PARAMFLOW_BLAS=mkl is not a choice');
    expect(JSON.parse(readFileSync(join(dir, 'build', 'native.json'), 'utf8'))).toMatchObject({ ok: false });
  });

  it('exits 0 with PARAMFLOW_NO_NATIVE=1, building nothing', async () => {
    const r = await execa(process.execPath, ['scripts/build-native.mjs'], {
      cwd: dir,
      env: { PARAMFLOW_NO_NATIVE: '1' },
      reject: false,
    });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'build', 'native.json'), 'utf8'))).toMatchObject({
      ok: false,
      reason: 'PARAMFLOW_NO_NATIVE=1',
    });
  });
});
