import { execa } from 'execa';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { REPO } from '../helpers/project.js';

// The arm64 NEON kernel of native/gemm.c against the x86 ones, bit for bit: the C harness
// (test/native/gemm-harness.c, no Node) is built for this machine and, with a cross compiler,
// for arm64, run there under qemu; each prints a hash of C for every shape, transpose pair and
// kernel, plus the contract written out as a plain fmaf loop ("reference"). Same bits
// everywhere is what lets a cached result made on one CPU stand for another's.

const onPath = (tool: string) =>
  (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
const missing = ['cc', 'aarch64-linux-gnu-gcc', 'qemu-aarch64'].filter((t) => !onPath(t));
const reason =
  process.arch !== 'x64'
    ? `skipped: it compares with the x86-64 kernels, this is ${process.arch}`
    : missing.length > 0
      ? `skipped: ${missing.join(', ')} not on PATH (Debian: gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)`
      : '';

// The flags scripts/build-native.mjs uses: no FMA contraction, no fast-math.
const FLAGS = ['-O3', '-std=c11', '-ffp-contract=off', '-fno-math-errno', '-Wall'];
const SOURCES = [join(REPO, 'test', 'native', 'gemm-harness.c'), join(REPO, 'native', 'gemm.c')];

type Run = { kernels: string[]; hashes: Map<string, Map<string, string>> }; // case → kernel → hash

function parse(stdout: string): Run {
  const [head, ...lines] = stdout.trim().split('\n');
  expect(head).toMatch(/^kernels /);
  const hashes = new Map<string, Map<string, string>>();
  for (const line of lines) {
    const [m, n, k, ta, tb, kernel, hash] = line.split(' ');
    const key = `${m}×${n}×${k} transA=${ta} transB=${tb}`;
    if (!hashes.has(key)) hashes.set(key, new Map());
    hashes.get(key)!.set(kernel!, hash!);
  }
  return { kernels: head!.split(' ').slice(1), hashes };
}

describe.skipIf(reason !== '')(
  `native/gemm.c's NEON kernel (arm64 under qemu) against the x86-64 kernels${reason ? ` (${reason})` : ''}`,
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'pf-gemm-neon-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    let x86: Run;
    let arm: Run;

    beforeAll(async () => {
      const host = join(dir, 'harness-x86_64');
      const cross = join(dir, 'harness-aarch64');
      await Promise.all([
        execa('cc', [...FLAGS, ...SOURCES, '-o', host, '-lm']),
        execa('aarch64-linux-gnu-gcc', [...FLAGS, '-static', ...SOURCES, '-o', cross, '-lm']),
      ]);
      const [a, b] = await Promise.all([execa(host), execa('qemu-aarch64', [cross])]);
      x86 = parse(a.stdout);
      arm = parse(b.stdout);
    }, 180_000);

    it('the arm64 build runs neon and scalar; the x86-64 one at least scalar, every case on both', () => {
      expect(arm.kernels).toEqual(['neon', 'scalar']);
      expect(x86.kernels).toContain('scalar');
      expect(x86.kernels).not.toContain('neon');
      expect([...arm.hashes.keys()]).toEqual([...x86.hashes.keys()]);
      expect(x86.hashes.size).toBeGreaterThanOrEqual(36);
      for (const run of [x86, arm])
        for (const byKernel of run.hashes.values())
          expect([...byKernel.keys()].sort()).toEqual([...run.kernels, 'reference'].sort());
    });

    it("every kernel on both machines gives the fmaf chain's bits for every shape and transpose pair", () => {
      const differ: string[] = [];
      for (const [key, byKernel] of x86.hashes) {
        const all = [
          ...[...byKernel].map(([k, h]) => [`x86_64 ${k}`, h]),
          ...[...arm.hashes.get(key)!].map(([k, h]) => [`aarch64 ${k}`, h]),
        ];
        if (new Set(all.map(([, h]) => h)).size !== 1)
          differ.push(`${key}: ${all.map(([k, h]) => `${k}=${h}`).join(', ')}`);
      }
      expect(differ).toEqual([]);
    });
  },
);
