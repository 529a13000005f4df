#!/usr/bin/env node
// Builds paramflow's native kernel addon (native/*.c → build/native.node) with the system C
// compiler and nothing else: the products use paramflow's own GEMM (native/gemm.c, the same bits
// on every CPU). PARAMFLOW_BLAS=openblas opts in to OpenBLAS's sgemm instead (Debian:
// libopenblas-dev; CPU-dependent bits, recorded in the stage keys as another arithmetic). Runs
// from the root package's `install` script, so `npm ci` builds it; it calls the compiler
// directly (no node-gyp: nothing is downloaded, Node's own headers are used).
//
// It never fails the install: when the compiler, Node's headers or the opted-in BLAS is missing, it
// prints why, records the reason in build/native.json and exits 0; paramflow then falls back
// to wasm and says why (src/backend/probe.ts reads that file). PARAMFLOW_NO_NATIVE=1 skips it.
//
// --plain builds the fused trainer's loops for plain x86-64 only (no AVX2/AVX-512 clones: the
// results are the same bits, test/backend/native-clones.test.ts compares); --out puts the
// addon and its status in another folder.
//
//   node scripts/build-native.mjs [--quiet] [--plain] [--out DIR]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opts } = parseArgs({
  options: {
    quiet: { type: 'boolean', default: false },
    plain: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const OUT = opts.out ? resolve(opts.out) : join(ROOT, 'build');
const ADDON = join(OUT, 'native.node');
const STATUS = join(OUT, 'native.json');
const SOURCES = [
  'paramflow_native.c',
  'args.c',
  'tensor_ops.c',
  'gemm_threads.c',
  'mlp.c',
  'mlp_layers.c',
  'gemm.c',
].map((f) => join(ROOT, 'native', f));
const quiet = opts.quiet;

/** Folders that may hold node_api.h: next to this Node (official builds), then distro packages. */
function nodeIncludeDir() {
  const candidates = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  if (process.env.npm_config_nodedir) candidates.unshift(join(process.env.npm_config_nodedir, 'include', 'node'));
  return candidates.find((d) => existsSync(join(d, 'node_api.h')));
}

/** Compiler flags for the GEMM: paramflow's own by default; OpenBLAS when PARAMFLOW_BLAS=openblas. */
function blasFlags() {
  const darwin = process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : [];
  const wanted = process.env.PARAMFLOW_BLAS || 'own';
  if (wanted === 'own') return { cflags: [], libs: [...darwin, '-lm', '-lpthread'], name: 'own' };
  if (wanted !== 'openblas')
    return {
      problem: `PARAMFLOW_BLAS=${wanted} is not a choice (leave it unset for paramflow's own GEMM, or set openblas)`,
    };
  const arch = process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
  const headers = [
    `/usr/include/${arch}/openblas-pthread`,
    '/usr/include/openblas',
    `/usr/include/${arch}`,
    '/usr/include',
  ].find((d) => existsSync(join(d, 'cblas.h')));
  if (!headers)
    return {
      problem: 'OpenBLAS headers (cblas.h) not found: install libopenblas-dev (Debian/Ubuntu) or openblas-devel',
    };
  return {
    cflags: [`-I${headers}`, '-DPARAMFLOW_OPENBLAS'],
    libs: [...darwin, '-lopenblas', '-lm', '-lpthread'],
    name: 'openblas',
  };
}

function record(status) {
  mkdirSync(OUT, { recursive: true });
  writeFileSync(
    STATUS,
    `${JSON.stringify({ ...status, node: process.version, platform: `${process.platform}-${process.arch}`, builtAt: new Date().toISOString() }, null, 2)}\n`,
  );
}

function fail(reason) {
  rmSync(ADDON, { force: true });
  record({ ok: false, reason });
  process.stderr.write(
    `paramflow: native kernels not built (${reason}); paramflow will use the wasm backend instead\n`,
  );
  process.exit(0);
}

function main() {
  if (process.env.PARAMFLOW_NO_NATIVE === '1') fail('PARAMFLOW_NO_NATIVE=1');
  if (!['linux', 'darwin'].includes(process.platform)) fail(`no native build for ${process.platform}`);
  const include = nodeIncludeDir();
  if (!include) fail(`Node's headers (node_api.h) not found next to ${process.execPath} or in /usr/include/node`);
  const blas = blasFlags();
  if (blas.problem) fail(blas.problem);
  const cc = process.env.CC || 'cc';
  mkdirSync(OUT, { recursive: true });
  // Built beside the addon, then renamed over it: a process that has the old one loaded keeps
  // its (unlinked) file; writing into the loaded file in place would crash that process.
  const built = `${ADDON}.${process.pid}.tmp`;
  const generated = writeBoundaryHeader();
  // No -ffast-math and no FMA contraction: results must not depend on the compiler's mood.
  // -fno-math-errno only lets sqrt be an instruction (errno is never read).
  const args = [
    '-O3',
    '-std=c11',
    '-ffp-contract=off',
    '-fno-math-errno',
    '-shared',
    '-fPIC',
    '-Wall',
    '-fvisibility=hidden',
    ...(opts.plain ? ['-DPARAMFLOW_PLAIN'] : []),
    `-I${include}`,
    `-I${generated}`,
    ...blas.cflags,
    ...SOURCES,
    '-o',
    built,
    ...blas.libs,
  ];
  try {
    execFileSync(cc, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const detail =
      e.code === 'ENOENT'
        ? `no C compiler (${cc}) on PATH`
        : `${cc} failed: ${String(e.stderr || e.message)
            .trim()
            .split('\n')
            .slice(0, 6)
            .join(' | ')}`;
    rmSync(built, { force: true });
    fail(detail);
  }
  // Load it once here, so a library missing at run time shows now and not in the middle of a run.
  try {
    const addon = { exports: {} };
    process.dlopen(addon, built);
    renameSync(built, ADDON);
    const exports = addon.exports;
    record({
      ok: true,
      gemm: blas.name,
      arithmetic: exports.arithmetic(),
      blas: exports.blas(),
      ...(blas.name === 'openblas' ? { blasCore: defaultCore(ADDON) } : {}),
      compiler: cc,
    });
    if (!quiet) process.stderr.write(`paramflow: native kernels built (${ADDON}; ${exports.blas()})\n`);
  } catch (e) {
    rmSync(built, { force: true });
    fail(`the built addon does not load: ${e.message}`);
  }
}

main();

// The sgemm kernel OpenBLAS picks for this CPU by itself: keys name it (OPENBLAS_CORETYPE, when
// set at run time, overrides it), so a build run with the variable set must not record that one.
function defaultCore(addonFile) {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  const probe = 'const m = { exports: {} }; process.dlopen(m, process.argv[1]); process.stdout.write(m.exports.blas())';
  const text = execFileSync(process.execPath, ['-e', probe, addonFile], { env, encoding: 'utf8' });
  return /\(core ([^)]+)\)/.exec(text)?.[1] ?? 'unknown';
}

/**
 * native/boundary.json → boundary.h (in a folder of its own under build/, added to the include
 * path): the C side's constants, enums and hyper positions, so that they cannot drift from the
 * TypeScript side, which reads the same file (src/backend/native/boundary.ts).
 */
function writeBoundaryHeader() {
  const table = JSON.parse(readFileSync(join(ROOT, 'native', 'boundary.json'), 'utf8'));
  const upper = (name) => name.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  const lines = [
    '/* Generated from native/boundary.json by scripts/build-native.mjs: edit that file. */',
    '#ifndef PARAMFLOW_BOUNDARY_H',
    '#define PARAMFLOW_BOUNDARY_H',
  ];
  for (const [name, value] of Object.entries(table.constants)) lines.push(`#define ${name} ${value}`);
  for (const { prefix, names } of Object.values(table.codes))
    lines.push(`enum { ${names.map((n) => prefix + upper(n)).join(', ')} };`);
  table.hyper.forEach((name, i) => lines.push(`#define H_${upper(name)} ${i}`));
  lines.push(`#define HYPER_LENGTH ${table.hyper.length}`, '#endif', '');
  const dir = join(OUT, `generated.${process.pid}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'boundary.h'), lines.join('\n'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
