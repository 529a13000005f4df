import { createHash, randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { decodeNpy, npyData, npyHeader, npyParts } from '../format/npy.js';
import type { KeyDetails } from '../hash/stage-key.js';
import { sha256File } from '../hash/sha256.js';
import { isNpyFile, NpyFile } from '../format/npy-file.js';
import { jsonArtifact } from '../stage-contract/ndarray.js';
import type { ArrayFile, Artifact, FoldReport, MetricPoint } from '../stage-contract/types.js';
import { crashPoint } from '../util/crash.js';
import { ensureDir, probeWritable, storageError, withPath } from '../util/storage-errors.js';
import { HashedFile, writeHashed, type WriteBudget, type WrittenFile } from './entry-writer.js';
import { CorruptEntryError, type Lineage } from './lineage.js';
import type { Layout } from '../project/layout.js';

export const MANIFEST = 'manifest.json';
export const COMPLETE = 'COMPLETE';

export interface Manifest {
  key: string;
  stage: string;
  type: string;
  created: string;
  /** Output name → file name inside the entry. */
  outputs: Record<string, string>;
  files: Record<string, WrittenFile>;
  metrics: Record<string, number>;
  series?: Record<string, MetricPoint[]>;
  folds?: FoldReport[];
  details: KeyDetails;
  durationMs: number;
  /** What it was computed from (absent in manifests written before lineage: "unknown"). */
  lineage?: Lineage;
}

/** Why an entry can or cannot be used: a reason, not a bare boolean. */
export type Lookup =
  { hit: true; manifest: Manifest } | { hit: false; reason: 'absent' | 'incomplete' | 'corrupt'; detail?: string };

export interface CommitInput {
  key: string;
  stage: string;
  details: KeyDetails;
  outputs: Record<string, Artifact>;
  metrics: Record<string, number>;
  series?: Record<string, MetricPoint[]>;
  folds?: FoldReport[];
  durationMs: number;
  /** The runner always records it; without it the entry's lineage is "unknown". */
  lineage?: Lineage;
}

// The content-addressed store: `.paramflow/cache/<key>/` holds a stage's outputs,
// their digests (manifest.json) and a completion marker. Entries appear by rename only.
export class CacheStore {
  constructor(readonly layout: Layout) {}

  /** Fast check: marker and sizes (docs/conventions.md, Cache); digests are checked on load and by verify. */
  async lookup(key: string): Promise<Lookup> {
    const dir = this.layout.entry(key);
    try {
      await stat(join(dir, COMPLETE));
    } catch {
      try {
        await stat(dir);
        return { hit: false, reason: 'incomplete' };
      } catch {
        return { hit: false, reason: 'absent' };
      }
    }
    let manifest: Manifest;
    try {
      manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
    } catch (err) {
      return { hit: false, reason: 'corrupt', detail: `unreadable ${MANIFEST}: ${(err as Error).message}` };
    }
    for (const [file, meta] of Object.entries(manifest.files)) {
      const size = await stat(join(dir, file)).then(
        (s) => s.size,
        () => -1,
      );
      if (size !== meta.size)
        return {
          hit: false,
          reason: 'corrupt',
          detail: `${file} is ${size < 0 ? 'missing' : `${size} bytes, expected ${meta.size}`}`,
        };
    }
    return { hit: true, manifest };
  }

  /**
   * Reads an entry's outputs, each file checked against its recorded digest before it is
   * decoded (one read, one hash: decoding may return a view of these very bytes).
   * A damaged or missing file throws CorruptEntryError: its bytes are never used.
   */
  async load(manifest: Manifest, options: { streamBytes?: number } = {}): Promise<Record<string, Artifact>> {
    const dir = this.layout.entry(manifest.key);
    const large = (file: string) =>
      options.streamBytes !== undefined &&
      file.endsWith('.npy') &&
      (manifest.files[file]?.size ?? 0) >= options.streamBytes;
    const read = async (file: string): Promise<Buffer> => {
      const meta = manifest.files[file];
      if (!meta) throw new CorruptEntryError(manifest.key, file, `is not listed in ${MANIFEST}`, manifest.stage);
      let bytes: Buffer;
      try {
        bytes = await readFile(join(dir, file));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') throw new CorruptEntryError(manifest.key, file, 'is missing', manifest.stage);
        throw err;
      }
      checkDigest(manifest, file, createHash('sha256').update(bytes).digest('hex'));
      return bytes;
    };
    const out: Record<string, Artifact> = {};
    for (const [name, file] of Object.entries(manifest.outputs)) {
      if (file.endsWith('/')) {
        const files: Record<string, Uint8Array> = {};
        for (const rel of Object.keys(manifest.files).filter((f) => f.startsWith(file))) {
          files[rel.slice(file.length)] = await read(rel);
        }
        out[name] = { kind: 'folder', files };
        continue;
      }
      if (large(file)) {
        out[name] = await this.openChecked(manifest, file);
        continue;
      }
      const bytes = await read(file);
      try {
        out[name] = file.endsWith('.npy') ? decodeNpy(bytes) : jsonArtifact(JSON.parse(bytes.toString('utf8')));
      } catch (err) {
        // Bytes that match their digest but do not decode (written so): name the entry and the file.
        throw new CorruptEntryError(manifest.key, file, `cannot be read: ${(err as Error).message}`, manifest.stage);
      }
    }
    return out;
  }

  /**
   * A large array of an entry, left in its file (read by rows): checked against its digest by
   * a streamed read first (bounded memory), so a damaged file is never used.
   */
  private async openChecked(manifest: Manifest, file: string): Promise<NpyFile> {
    const path = join(this.layout.entry(manifest.key), file);
    const meta = manifest.files[file]!;
    let digest: string;
    try {
      digest = await sha256File(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT')
        throw new CorruptEntryError(manifest.key, file, 'is missing', manifest.stage);
      throw err;
    }
    checkDigest(manifest, file, digest);
    try {
      return await NpyFile.open(path, meta);
    } catch (err) {
      throw new CorruptEntryError(manifest.key, file, `cannot be read: ${(err as Error).message}`, manifest.stage);
    }
  }

  /**
   * A just-committed entry's outputs for the stages after it: arrays left in files are opened
   * where the entry now holds them (hashed as they were written: not read again); the rest
   * are the artifacts the stage returned.
   */
  async reopen(manifest: Manifest, outputs: Record<string, Artifact>): Promise<Record<string, Artifact>> {
    const dir = this.layout.entry(manifest.key);
    const out: Record<string, Artifact> = {};
    for (const [name, a] of Object.entries(outputs)) {
      const file = manifest.outputs[name];
      out[name] = a.kind === 'array-file' && file ? await NpyFile.open(join(dir, file), manifest.files[file]) : a;
    }
    return out;
  }

  /**
   * Writes a new entry. An entry already there is kept, unless `replace` (a re-execution,
   * `--no-cache`) and its files differ from the new ones: then the new one takes its place.
   * Either way the returned manifest describes this execution.
   */
  async commit(input: CommitInput, options: { replace?: boolean } = {}): Promise<Manifest> {
    await mkdir(this.layout.tmpDir, { recursive: true });
    const tmp = join(this.layout.tmpDir, `${input.key}.${process.pid}.${randomBytes(4).toString('hex')}`);
    await mkdir(tmp);
    try {
      const budget = { written: 0, stage: input.stage };
      const files: Record<string, WrittenFile> = {};
      const outputs: Record<string, string> = {};
      for (const [name, artifact] of Object.entries(input.outputs)) {
        if (artifact.kind === 'array-file') {
          files[`${name}.npy`] = await this.placeArrayFile(artifact, join(tmp, `${name}.npy`), budget);
          outputs[name] = `${name}.npy`;
          continue;
        }
        for (const [file, parts] of artifactFiles(name, artifact)) {
          await mkdir(dirname(join(tmp, file)), { recursive: true });
          files[file] = await writeHashed(join(tmp, file), parts, budget);
        }
        outputs[name] =
          artifact.kind === 'ndarray' ? `${name}.npy` : artifact.kind === 'json' ? `${name}.json` : `${name}/`;
      }
      const manifest: Manifest = {
        key: input.key,
        stage: input.stage,
        type: input.details.type,
        created: new Date().toISOString(),
        outputs,
        files,
        metrics: input.metrics,
        ...(input.series ? { series: input.series } : {}),
        ...(input.folds ? { folds: input.folds } : {}),
        details: input.details,
        durationMs: input.durationMs,
        ...(input.lineage ? { lineage: input.lineage } : {}),
      };
      await writeHashed(join(tmp, MANIFEST), [Buffer.from(JSON.stringify(manifest, null, 2))], { written: 0 });
      await writeHashed(join(tmp, COMPLETE), [Buffer.from(`${input.key}\n`)], { written: 0 });
      crashPoint('cache-before-rename', input.stage);
      await this.place(tmp, input.key, options.replace ? files : undefined);
      crashPoint('cache-after-rename', input.stage);
      return manifest;
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /**
   * An array output already in a file, into the new entry at `dest`: a file the stage wrote
   * in the staging area moves by rename; another entry's file (an input passed through) is
   * hard-linked, or copied; its recorded digest comes along, so neither reads it again. Any
   * other ArrayFile is copied row by row, hashed as written.
   */
  private async placeArrayFile(a: ArrayFile, dest: string, budget: WriteBudget): Promise<WrittenFile> {
    if (isNpyFile(a) && a.digest) {
      const digest = a.digest;
      a.close();
      if (a.path.startsWith(this.layout.tmpDir)) await rename(a.path, dest);
      else await link(a.path, dest).catch(() => copyFile(a.path, dest));
      return { sha256: digest.sha256, size: digest.size };
    }
    const file = await HashedFile.create(dest, budget);
    try {
      for (const part of npyParts(a)) await file.write(part);
    } catch (err) {
      await file.abandon();
      throw err;
    }
    return file.close();
  }

  /** Makes the finished folder `tmp` (under tmpDir) the entry `key`, by rename; also how pulled entries arrive. */
  async place(tmp: string, key: string, replaceUnlike?: Record<string, WrittenFile>): Promise<void> {
    const dest = this.layout.entry(key);
    try {
      await rename(tmp, dest);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
      // Someone else's entry is there (a lock-free writer, or a leftover): keep a good one,
      // unless this is a re-execution whose bytes differ (the record must match the entry).
      const there = await this.lookup(key);
      if (there.hit && (!replaceUnlike || sameFiles(there.manifest.files, replaceUnlike))) {
        await rm(tmp, { recursive: true, force: true });
        return;
      }
      await this.remove(key);
      await rename(tmp, dest);
    }
  }

  /** Fails at once (PF_STORAGE) when results could not be stored: checked before a stage computes, not after. */
  async assertWritable(stage: string): Promise<void> {
    await probeWritable(this.layout.tmpDir, `checking that stage ${stage}'s results can be stored`);
  }

  /** Removes an entry by renaming it aside first, so no reader sees half of it. */
  async remove(key: string): Promise<void> {
    const dest = this.layout.entry(key);
    const aside = join(this.layout.tmpDir, `${key}.rm.${process.pid}.${randomBytes(4).toString('hex')}`);
    await ensureDir(this.layout.tmpDir, `removing cache entry ${key.slice(0, 12)}`);
    try {
      await rename(dest, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      // gc and verify on a read-only cache: say so, naming the entry, not a stack trace.
      throw storageError(withPath(err, dest), `removing cache entry ${key.slice(0, 12)}`, dest) ?? err;
    }
    crashPoint('cache-remove');
    await rm(aside, { recursive: true, force: true });
  }

  async keys(): Promise<string[]> {
    const names = await readdir(this.layout.cacheDir).catch(() => [] as string[]);
    return names.filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
  }

  /** Re-reads every file's digest. */
  async verify(key: string): Promise<{ ok: true; manifest: Manifest } | { ok: false; problem: string }> {
    const found = await this.lookup(key);
    if (!found.hit) return { ok: false, problem: found.reason + (found.detail ? `: ${found.detail}` : '') };
    for (const [file, meta] of Object.entries(found.manifest.files)) {
      const digest = await sha256File(join(this.layout.entry(key), file));
      if (digest !== meta.sha256)
        return {
          ok: false,
          problem: `${file} digest ${digest.slice(0, 12)}… does not match the recorded ${meta.sha256.slice(0, 12)}…`,
        };
    }
    return { ok: true, manifest: found.manifest };
  }

  async size(key: string): Promise<number> {
    const dir = this.layout.entry(key);
    const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
    let total = 0;
    for (const n of names)
      total += await stat(join(dir, n)).then(
        (s) => (s.isFile() ? s.size : 0),
        () => 0,
      );
    return total;
  }
}

/** A file whose bytes are not the ones its entry recorded is damaged: CorruptEntryError. */
function checkDigest(manifest: Manifest, file: string, digest: string): void {
  const recorded = manifest.files[file]!.sha256;
  if (digest !== recorded)
    throw new CorruptEntryError(
      manifest.key,
      file,
      `digest ${digest.slice(0, 12)}… does not match the recorded ${recorded.slice(0, 12)}…`,
      manifest.stage,
    );
}

function sameFiles(a: Record<string, WrittenFile>, b: Record<string, WrittenFile>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && a[k]!.sha256 === b[k]!.sha256 && a[k]!.size === b[k]!.size)
  );
}

/** The files an artifact is stored as: `X.npy`, `metrics.json`, or `model/<relpath>` for a folder. */
function artifactFiles(name: string, a: Exclude<Artifact, ArrayFile>): [string, Uint8Array[]][] {
  if (a.kind === 'ndarray') return [[`${name}.npy`, [npyHeader(a.dtype, a.shape), npyData(a)]]];
  if (a.kind === 'json') return [[`${name}.json`, [Buffer.from(JSON.stringify(a.value, null, 2) + '\n')]]];
  return Object.entries(a.files).map(([rel, bytes]) => {
    if (rel.split('/').some((p) => p === '..' || p === '' || p === '.') || rel.startsWith('/')) {
      throw new Error(`folder output ${name}: file name ${JSON.stringify(rel)} must be a plain relative path`);
    }
    return [`${name}/${rel}`, [bytes]];
  });
}
