import { ParamflowError } from '../util/errors.js';
import type { RunRecord } from './run-record.js';
import { isRepeat } from './repeats.js';

// docs/conventions.md, References. A ref is tried as run id prefix, run hash prefix, then
// stage key prefix; a hash or key resolves to the newest run that has it and computed
// something (a cached no-op rerun only repeats it), else the newest run that has it.
export function resolveRunRef(ref: string, runs: readonly RunRecord[]): RunRecord {
  if (ref.length === 0) throw badRef(ref, 'empty reference');
  const newestFirst = [...runs].sort((a, b) => (a.runId < b.runId ? 1 : -1));
  const byId = newestFirst.filter((r) => r.runId.startsWith(ref));
  if (byId.length === 1) return byId[0]!;
  if (byId.length > 1)
    throw ambiguous(
      ref,
      byId.map((r) => `run ${r.runId} (${r.pipeline.name}, ${r.status})`),
    );
  const hashes = distinct(newestFirst.filter((r) => r.runHash.startsWith(ref)).map((r) => r.runHash));
  if (hashes.length === 1) return computing(newestFirst.filter((r) => r.runHash === hashes[0]));
  if (hashes.length > 1)
    throw ambiguous(
      ref,
      hashes.map((h) => `run hash ${h.slice(0, 16)}`),
    );
  const keys = distinct(
    newestFirst.flatMap((r) => Object.values(r.stages).map((s) => s.key)).filter((k) => k.startsWith(ref)),
  );
  if (keys.length === 1) {
    const having = newestFirst.filter((r) => Object.values(r.stages).some((s) => s.key === keys[0]));
    // The run that executed that stage, else one that computed something.
    return (
      having.find((r) => Object.values(r.stages).some((s) => s.key === keys[0] && s.status === 'executed')) ??
      computing(having)
    );
  }
  if (keys.length > 1)
    throw ambiguous(
      ref,
      keys.map((k) => `stage key ${k.slice(0, 16)}`),
    );
  throw badRef(ref, `no run id, run hash or stage key starts with \`${ref}\``);
}

/** The newest run that computed something, else the newest. */
function computing(newestFirst: readonly RunRecord[]): RunRecord {
  return newestFirst.find((r) => !isRepeat(r)) ?? newestFirst[0]!;
}

function distinct<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

function ambiguous(ref: string, candidates: string[]): ParamflowError {
  return new ParamflowError(
    'PF_BAD_REF',
    `\`${ref}\` matches more than one thing:\n    ${candidates.slice(0, 10).join('\n    ')}`,
    {
      location: { file: '<command line>' },
      hint: 'type more characters of the id or hash',
    },
  );
}

function badRef(ref: string, message: string): ParamflowError {
  return new ParamflowError('PF_BAD_REF', message, {
    location: { file: '<command line>' },
    hint: '`paramflow runs` lists recorded runs with their ids and hashes',
  });
}
