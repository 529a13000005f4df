import { open } from 'node:fs/promises';
import { ParamflowError } from '../util/errors.js';

/** The largest pipeline file paramflow reads (docs/reliability.md). Real ones are a few KB. */
export const MAX_PIPELINE_BYTES = 10 * 1024 * 1024;

const MB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/**
 * The text of a pipeline file, refused before it is read when it is over the size cap:
 * a 50 MB file took minutes and gigabytes to parse, and `/dev/zero` never ends. Devices and
 * pipes have no size, so at most one byte past the cap is read from them.
 */
export async function readPipelineText(abs: string, file: string): Promise<string> {
  const tooBig = (what: string) =>
    new ParamflowError(
      'PF_BAD_DATA',
      `pipeline file ${abs} ${what}; a pipeline file may be at most ${MB(MAX_PIPELINE_BYTES)}`,
      {
        location: { file },
        hint: 'a pipeline is a few KB of YAML: name the right file, and keep data in files the stages read, not in the pipeline',
      },
    );
  let fh;
  try {
    fh = await open(abs, 'r');
  } catch (err) {
    throw cannotRead(abs, file, err);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw cannotRead(abs, file, Object.assign(new Error('is a folder'), { code: 'EISDIR' }));
    if (st.isFile() && st.size > MAX_PIPELINE_BYTES) throw tooBig(`is ${MB(st.size)}`);
    const buf = Buffer.alloc(MAX_PIPELINE_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_PIPELINE_BYTES)
        throw tooBig(
          st.isFile()
            ? 'grew past the cap while being read'
            : `is not a regular file (${kind(st)}) and gives more than ${MB(MAX_PIPELINE_BYTES)}`,
        );
    }
    return buf.toString('utf8', 0, n);
  } catch (err) {
    throw err instanceof ParamflowError ? err : cannotRead(abs, file, err);
  } finally {
    await fh.close();
  }
}

function kind(st: {
  isCharacterDevice(): boolean;
  isFIFO(): boolean;
  isSocket(): boolean;
  isBlockDevice(): boolean;
}): string {
  return st.isCharacterDevice()
    ? 'a character device'
    : st.isBlockDevice()
      ? 'a block device'
      : st.isFIFO()
        ? 'a pipe'
        : st.isSocket()
          ? 'a socket'
          : 'not a file';
}

function cannotRead(abs: string, file: string, err: unknown): ParamflowError {
  const code = (err as NodeJS.ErrnoException).code;
  return new ParamflowError(
    'PF_FILE_NOT_FOUND',
    `cannot read pipeline file ${abs}${code === 'EISDIR' ? ': it is a folder' : ''}`,
    {
      location: { file },
      hint:
        code === 'ENOENT'
          ? 'check the path; `paramflow init` writes an example pipeline'
          : code === 'EISDIR'
            ? 'name a pipeline file (.yaml) inside the folder'
            : code === 'EACCES' || code === 'EPERM'
              ? `check the file's permissions (${code})`
              : `the system said: ${(err as Error).message ?? String(err)}`,
      cause: err,
    },
  );
}
