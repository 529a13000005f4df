import { stat } from 'node:fs/promises';
import { ParamflowError } from '../../util/errors.js';
import type { RemoteSpec } from './spec.js';

/**
 * A cache other machines share, addressed like the local one: `<key>/` holding the
 * entry's files, manifest.json and the COMPLETE marker. `has` looks at the marker only,
 * and `write` puts the marker last, so a partial upload is never an entry.
 */
export interface RemoteCache {
  /** For messages: the folder or s3:// URL. */
  readonly where: string;
  has(key: string): Promise<boolean>;
  /** Keys of the complete entries. */
  keys(): Promise<string[]>;
  /** One file of an entry (`manifest.json`, `X.npy`, `model/weights.bin`), in chunks: never whole in memory. */
  read(key: string, file: string): Promise<AsyncIterable<Uint8Array>>;
  /** Uploads the entry in local folder `dir`: `files`, then manifest.json, then COMPLETE. */
  write(key: string, dir: string, files: readonly string[]): Promise<void>;
}

/**
 * Opens a remote. The S3 client is imported only here, when a bucket is used: a cached
 * no-op run and `validate` never load it. A shared folder that does not exist is bad
 * input (a typo'd mount point must not quietly become a local folder).
 */
export async function openRemote(spec: RemoteSpec): Promise<RemoteCache> {
  if (spec.kind === 's3') {
    const { S3Remote } = await import('./s3.js');
    return new S3Remote(spec.bucket, spec.prefix);
  }
  const isDir = await stat(spec.path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) {
    throw new ParamflowError('PF_FILE_NOT_FOUND', `the remote cache folder ${spec.path} does not exist`, {
      location: spec.location,
      hint: 'mount the shared disk, or create the folder once (mkdir -p) on the machine that holds it',
    });
  }
  const { FolderRemote } = await import('./folder.js');
  return new FolderRemote(spec.path);
}
