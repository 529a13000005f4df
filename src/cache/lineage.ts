import { ParamflowError } from '../util/errors.js';
import type { WrittenFile } from './entry-writer.js';

/**
 * What an entry was computed from: for each input stage, that stage's entry key and the
 * digests of its files as they were read (and checked) then. Keys alone are not enough:
 * a key names what *should* be in an entry, not what was actually in it.
 * Manifests written before lineage existed have none ("lineage unknown").
 */
export type Lineage = Record<string, { key: string; files: Record<string, string> }>;

export function lineageEntry(key: string, files: Record<string, WrittenFile>): Lineage[string] {
  return { key, files: Object.fromEntries(Object.entries(files).map(([f, m]) => [f, m.sha256])) };
}

/** Why `recorded` (what an entry was built from) differs from `current` digests of the input entry, or undefined. */
export function lineageMismatch(
  stage: string,
  recorded: Lineage[string],
  current: { key: string; files: Record<string, string> },
): string | undefined {
  if (recorded.key !== current.key)
    return `built from ${stage} entry ${recorded.key.slice(0, 12)}, not ${current.key.slice(0, 12)}`;
  for (const [file, digest] of Object.entries(recorded.files)) {
    const now = current.files[file];
    if (now !== digest) {
      return `built from ${stage}'s ${file} ${digest.slice(0, 12)}…, which is now ${now ? `${now.slice(0, 12)}…` : 'missing'} in entry ${current.key.slice(0, 12)}`;
    }
  }
  return undefined;
}

/** A cache entry whose bytes are not what its manifest recorded: it must never be used. */
export class CorruptEntryError extends ParamflowError {
  constructor(
    readonly key: string,
    readonly file: string,
    readonly problem: string,
    readonly stage?: string,
  ) {
    super('PF_CACHE_CORRUPT', `cache entry ${key.slice(0, 12)}${stage ? ` (${stage})` : ''}: ${file} ${problem}`, {
      hint: 'the entry is damaged; it is removed and recomputed (or run `paramflow cache verify`)',
    });
  }
}
