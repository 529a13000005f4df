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
    const r = await execa(process.execPath, ['scripts/build-native.mjs'], { cwd: dir, env: { CC: 'no-such-compiler-here', PARAMFLOW_NO_NATIVE: '' }, reject: false });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/native kernels not built \(no C compiler \(no-such-compiler-here\) on PATH\); paramflow will use the wasm backend/);
    expect(existsSync(join(dir, 'build', 'native.node'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'build', 'native.json'), 'utf8'))).toMatchObject({ ok: false, reason: expect.stringContaining('no C compiler') });
  });

  it('exits 0 with PARAMFLOW_NO_NATIVE=1, building nothing', async () => {
    const r = await execa(process.execPath, ['scripts/build-native.mjs'], { cwd: dir, env: { PARAMFLOW_NO_NATIVE: '1' }, reject: false });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, 'build', 'native.json'), 'utf8'))).toMatchObject({ ok: false, reason: 'PARAMFLOW_NO_NATIVE=1' });
  });
});
