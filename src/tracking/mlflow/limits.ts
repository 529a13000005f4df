// MLflow's limits, as its tracking server enforces them. Sources:
// - mlflow/utils/validation.py (read in the opendatahub-io/mlflow snapshot of upstream
//   MLflow 3.x, the line the recorded server ran): MAX_METRICS_PER_BATCH = 1000,
//   MAX_PARAMS_TAGS_PER_BATCH = 100, MAX_ENTITIES_PER_BATCH = 1000,
//   MAX_BATCH_LOG_REQUEST_SIZE = int(1e6), MAX_PARAM_VAL_LENGTH = 6000,
//   MAX_TAG_VAL_LENGTH = 8000, MAX_ENTITY_KEY_LENGTH = 250, MAX_EXPERIMENT_NAME_LENGTH = 500;
//   names must match ^[/\w.\- :]*$ and be unchanged by posixpath.normpath
//   (`validate_param_and_metric_name`, `path_not_unique`).
// - Recorded transcripts (test/fixtures/mlflow): 1000 metrics accepted, 1001 metrics and
//   101 params refused with 400 INVALID_PARAMETER_VALUE, a 6001-char param value stored
//   truncated to 6000, `bad key!` refused with the charset message.
// - REST API docs, runs/log-batch "Request Limits": "A single JSON-serialized API request
//   may be up to 1 MB in size". (The 3.6 server's own size check measures the parsed dict,
//   not the bytes, so it never fires; proxies in front of it may still cut large bodies.)
export const MAX_METRICS_PER_BATCH = 1000;
export const MAX_PARAMS_PER_BATCH = 100;
export const MAX_TAGS_PER_BATCH = 100;
export const MAX_ITEMS_PER_BATCH = 1000;
export const MAX_BATCH_BYTES = 1_000_000;
export const MAX_KEY_LENGTH = 250;
export const MAX_PARAM_VALUE_LENGTH = 6000;
export const MAX_TAG_VALUE_LENGTH = 8000;
export const MAX_EXPERIMENT_NAME_LENGTH = 500;

// Python's `\w` on str is Unicode-aware: letters, digits (and marks) of any script, and `_`.
// Python's `\w`, which MLflow checks names with, takes letters and digits but not combining
// marks (a real 3.6 server refused "e\u0301" and "कि").
const KEY_CHARSET = /^[\p{L}\p{N}_/.\- :]*$/u;

/** Why MLflow would refuse `key` as a metric, param or tag name, or undefined when it is fine. */
export function checkKey(key: string): string | undefined {
  if (key.length === 0) return 'a name must not be empty';
  if (!KEY_CHARSET.test(key)) {
    const bad = [...new Set([...key].filter((c) => !KEY_CHARSET.test(c)))].map((c) => JSON.stringify(c)).join(', ');
    return `\`${key}\` has characters MLflow refuses (${bad}): names may only contain alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ), colons (:) and slashes (/)`;
  }
  if (codePoints(key) > MAX_KEY_LENGTH)
    return `\`${key.slice(0, 40)}…\` is ${codePoints(key)} characters long; MLflow allows at most ${MAX_KEY_LENGTH}`;
  if (!isNormalPath(key)) {
    return `\`${key}\` would be read by MLflow as another path (no leading or trailing /, no //, no . or .. segments)`;
  }
  return undefined;
}

/**
 * Every problem MLflow would have with these metric / param / tag names: call it when a
 * pipeline is validated, so a bad key is refused before anything runs.
 */
export function mlflowKeyProblems(keys: readonly string[]): string[] {
  const out: string[] = [];
  for (const key of new Set(keys)) {
    const problem = checkKey(key);
    if (problem) out.push(problem);
  }
  return out;
}

/** Why MLflow would refuse this experiment name, or undefined. */
export function experimentNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'the MLflow experiment name is empty';
  if (codePoints(name) > MAX_EXPERIMENT_NAME_LENGTH)
    return `the MLflow experiment name is longer than ${MAX_EXPERIMENT_NAME_LENGTH} characters`;
  return undefined;
}

/** The first `max` characters (Python counts code points, not UTF-16 units). */
export function truncateChars(value: string, max: number): string {
  if (value.length <= max) return value;
  const cps = [...value];
  return cps.length <= max ? value : cps.slice(0, max).join('');
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

// posixpath.normpath(name) == name, and not `.`, `..…` or `/…` (MLflow's `path_not_unique`).
function isNormalPath(name: string): boolean {
  if (name.startsWith('/') || name.startsWith('..') || name.endsWith('/')) return false;
  return name.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
