import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ParamflowError, type SourceLocation } from '../../util/errors.js';

/** Where a remote cache lives, parsed and checked; nothing is opened here (validate stays fast). */
export type RemoteSpec =
  | { kind: 'folder'; path: string; text: string; location: SourceLocation }
  | { kind: 's3'; bucket: string; prefix: string; text: string; location: SourceLocation };

export const REMOTE_HINT =
  'write an absolute folder (a shared disk), a path relative to the pipeline file, file:///path, or s3://bucket/prefix';

// S3's bucket naming rules, simplified: 3–63 lowercase letters, digits, dots and hyphens.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * `cache.remote:` or PARAMFLOW_CACHE_REMOTE → a remote spec. Relative folders resolve
 * against `baseDir` (the pipeline's folder). A shared cache is meant to live outside the
 * project, so unlike stage paths it may.
 */
export function parseRemoteSpec(text: string, baseDir: string, location: SourceLocation): RemoteSpec {
  const bad = (why: string) =>
    new ParamflowError('PF_SCHEMA', `cache remote \`${text}\`: ${why}`, { location, hint: REMOTE_HINT });
  if (text.startsWith('s3://')) {
    const rest = text.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = (slash < 0 ? '' : rest.slice(slash + 1)).replace(/\/+$/, '');
    if (!BUCKET.test(bucket)) throw bad(`\`${bucket}\` is not an S3 bucket name`);
    if (prefix.split('/').some((p) => p === '' || p === '.' || p === '..') && prefix !== '')
      throw bad('the prefix has an empty, `.` or `..` segment');
    return { kind: 's3', bucket, prefix, text, location };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) && !text.startsWith('file://'))
    throw bad(`only folders and s3:// buckets are supported, not ${text.slice(0, text.indexOf(':'))}://`);
  let path: string;
  try {
    path = text.startsWith('file://') ? fileURLToPath(text) : text;
  } catch {
    throw bad('not a valid file:// URL');
  }
  return { kind: 'folder', path: isAbsolute(path) ? path : resolve(baseDir, path), text, location };
}

/** The remote a run uses: PARAMFLOW_CACHE_REMOTE over the file's `cache.remote` (docs/conventions.md, Overrides: environment > file). */
export function chooseRemote(
  env: Readonly<Record<string, string | undefined>>,
  fromFile: string | undefined,
  dir: string,
  fileLocation: SourceLocation,
): RemoteSpec | undefined {
  const fromEnv = env.PARAMFLOW_CACHE_REMOTE?.trim();
  if (fromEnv) return parseRemoteSpec(fromEnv, process.cwd(), { file: 'PARAMFLOW_CACHE_REMOTE' });
  return fromFile ? parseRemoteSpec(fromFile, dir, fileLocation) : undefined;
}
