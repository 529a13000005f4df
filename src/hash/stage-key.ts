import { canonicalJson } from './canonical-json.js';
import { sha256 } from './sha256.js';

/** Bumped when the cache layout or the key recipe changes: every key changes with it. */
export const FORMAT_VERSION = 2;

/** Everything a stage key is computed from, kept with the run so `status` can explain a miss. */
export interface KeyDetails {
  type: string;
  version: string;
  /** Canonical params (defaults filled in, seed included). */
  params: Record<string, unknown>;
  /** Needed stage name → that stage's key. */
  inputs: Record<string, string>;
  /** Content digests of files named by params (path → sha256). */
  files: Record<string, string>;
  /** Extra facts that change results (e.g. backend for train). */
  env: Record<string, string>;
  format: number;
}

export interface StageKey {
  value: string;
  details: KeyDetails;
}

export function computeStageKey(details: Omit<KeyDetails, 'format'>): StageKey {
  const full: KeyDetails = { ...details, format: FORMAT_VERSION };
  return { value: sha256(canonicalJson(full)), details: full };
}

/** The run hash names the experiment: the resolved pipeline and its stage keys. */
export function computeRunHash(resolved: unknown, stageKeys: Record<string, string>): string {
  return sha256(canonicalJson({ pipeline: resolved, stages: stageKeys, format: FORMAT_VERSION }));
}
