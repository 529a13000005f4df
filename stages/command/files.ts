import { mkdir, open, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { ParamflowError } from '../../src/util/errors.js';
import { decodeNpy, encodeNpy, npyParts } from '../../src/format/npy.js';
import { jsonArtifact } from '../../src/stage-contract/ndarray.js';
import type { ArrayFile, Artifact, JsonValue, OutputSpec } from '../../src/stage-contract/types.js';

/** Where an artifact is handed to a program: `<name>.npy`, `<name>.json` or `<name>/`. */
export function artifactPath(dir: string, name: string, kind: Artifact['kind']): string {
  return join(
    dir,
    kind === 'ndarray' || kind === 'array-file' ? `${name}.npy` : kind === 'json' ? `${name}.json` : name,
  );
}

/** Writes an input artifact where the program reads it (a copy: the cache stays read-only to programs). */
export async function writeArtifact(path: string, a: Artifact): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (a.kind === 'ndarray') return writeFile(path, encodeNpy(a));
  if (a.kind === 'array-file') return writeRows(path, a);
  if (a.kind === 'json') return writeFile(path, JSON.stringify(a.value, null, 2) + '\n');
  for (const [rel, bytes] of Object.entries(a.files)) {
    await mkdir(dirname(join(path, rel)), { recursive: true });
    await writeFile(join(path, rel), bytes);
  }
}

/** A large input copied to the program's file a chunk of rows at a time (never whole in memory). */
async function writeRows(path: string, a: ArrayFile): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    for (const part of npyParts(a)) await fh.write(part);
  } finally {
    await fh.close();
  }
}

/** Reads a declared output back; a missing or unreadable one is an error naming it. */
export async function readOutput(stage: string, command: string, path: string, o: OutputSpec): Promise<Artifact> {
  const fail = (what: string, hint: string, cause?: unknown) =>
    new ParamflowError('PF_STAGE_FAILED', `stage ${stage}: command \`${command}\` ${what}`, {
      hint,
      ...(cause ? { cause } : {}),
    });
  const info = await stat(path).catch(() => undefined);
  const want = o.kind === 'folder' ? 'folder' : 'file';
  if (!info || (o.kind === 'folder' ? !info.isDirectory() : !info.isFile())) {
    throw fail(
      `did not write its declared output \`${o.name}\` (expected the ${want} ${path})`,
      `write it at {outputs.${o.name}} (the program gets its path in run or as PARAMFLOW_OUTPUT_${envName(o.name)}), or remove it from outputs`,
    );
  }
  if (o.kind === 'folder') return { kind: 'folder', files: await readFolder(path) };
  const bytes = await readFile(path);
  try {
    if (o.kind === 'ndarray') return decodeNpy(bytes);
    return jsonArtifact(JSON.parse(bytes.toString('utf8')) as JsonValue);
  } catch (err) {
    throw fail(
      `wrote output \`${o.name}\` that is not ${o.kind === 'ndarray' ? 'a readable .npy' : 'valid JSON'}: ${(err as Error).message}`,
      o.kind === 'ndarray'
        ? 'save it with numpy.save as float32, float64 or int32 (C order)'
        : 'write it with json.dump',
      err,
    );
  }
}

export async function readFolder(dir: string): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of (await readdir(dir, { recursive: true })).sort()) {
    const abs = join(dir, name);
    if ((await stat(abs)).isFile()) files[relative(dir, abs).split(sep).join('/')] = await readFile(abs);
  }
  return files;
}

/**
 * `metrics.json` in the output folder: a mapping of metric name → number (nested
 * mappings are joined with dots: { rmse: { A: 0.1 } } → rmse.A).
 */
export async function readMetrics(stage: string, file: string): Promise<Record<string, number> | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const bad = (what: string) =>
    new ParamflowError('PF_STAGE_FAILED', `stage ${stage}: metrics.json ${what}`, {
      hint: 'write a JSON mapping of metric name → finite number, e.g. {"rmse": 0.12, "r2": {"A": 0.97}}',
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw bad(`is not valid JSON (${(err as Error).message})`);
  }
  const out: Record<string, number> = {};
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
    else if (typeof v === 'object' && v !== null && !Array.isArray(v))
      for (const [k, x] of Object.entries(v)) walk(x, key ? `${key}.${k}` : k);
    else throw bad(`holds ${JSON.stringify(v)} at \`${key || '(top level)'}\`, not a finite number`);
  };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('is not a mapping');
  walk(value, '');
  return out;
}

/** The `.png` and `.svg` files at the top of the output folder: the stage's plots. */
export async function readPlots(dir: string, declared: ReadonlySet<string>): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (e.isFile() && /\.(png|svg)$/i.test(e.name) && !declared.has(e.name))
      files[e.name] = await readFile(join(dir, e.name));
  }
  return files;
}

/** `noise.Y` → `NOISE_Y`: an environment variable name part. */
export const envName = (s: string) => s.replace(/[^A-Za-z0-9]/g, '_').toUpperCase();
