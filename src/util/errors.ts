// Every failure paramflow reports is one of these: a stable code for scripts, a
// location for the user's editor, and a hint saying how to fix it.

import { redactSecrets } from './redact.js';

export interface SourceLocation {
  /** File path (or `<command line>` for flags). */
  file: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column, when known. */
  column?: number;
}

export type ErrorCode =
  | 'PF_YAML_SYNTAX'
  | 'PF_SCHEMA'
  | 'PF_UNKNOWN_STAGE_TYPE'
  | 'PF_UNKNOWN_NEED'
  | 'PF_STAGE_CYCLE'
  | 'PF_DUPLICATE_STAGE'
  | 'PF_INPUT_MISSING'
  | 'PF_INPUT_AMBIGUOUS'
  | 'PF_SHAPE'
  | 'PF_BAD_OVERRIDE'
  | 'PF_PATH_ESCAPE'
  | 'PF_FILE_NOT_FOUND'
  | 'PF_BAD_FLAG'
  | 'PF_BAD_REF'
  | 'PF_BAD_DATA'
  /** The run's arrays would not fit on the disk or in memory (pipeline/resources.ts). */
  | 'PF_TOO_LARGE'
  | 'PF_ENV_MISMATCH'
  | 'PF_STAGE_FAILED'
  | 'PF_CACHE_CORRUPT'
  | 'PF_RUN_STORE'
  | 'PF_STORAGE'
  | 'PF_NOT_SUPPORTED'
  | 'PF_INTERRUPTED'
  /** A failed MLflow request (tracking/mlflow/errors.ts). */
  | 'PF_MLFLOW';

/** Exit codes of the CLI (docs/conventions.md, Exit codes). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, interrupted: 130 } as const;

const BAD_INPUT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'PF_YAML_SYNTAX',
  'PF_SCHEMA',
  'PF_UNKNOWN_STAGE_TYPE',
  'PF_UNKNOWN_NEED',
  'PF_STAGE_CYCLE',
  'PF_DUPLICATE_STAGE',
  'PF_INPUT_MISSING',
  'PF_INPUT_AMBIGUOUS',
  'PF_SHAPE',
  'PF_BAD_OVERRIDE',
  'PF_PATH_ESCAPE',
  'PF_FILE_NOT_FOUND',
  'PF_BAD_FLAG',
  'PF_BAD_REF',
  'PF_BAD_DATA',
  'PF_TOO_LARGE',
  // `repro --strict` refuses to run in another environment: the user asked for exactly this one.
  'PF_ENV_MISMATCH',
]);

export interface ParamflowErrorOptions {
  location?: SourceLocation;
  hint?: string;
  cause?: unknown;
  /** JSON pointer into the pipeline document, when the error is about a value. */
  pointer?: string;
}

export class ParamflowError extends Error {
  readonly code: ErrorCode;
  readonly location?: SourceLocation;
  readonly hint?: string;
  readonly pointer?: string;

  constructor(code: ErrorCode, message: string, options: ParamflowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ParamflowError';
    this.code = code;
    this.location = options.location;
    this.hint = options.hint;
    this.pointer = options.pointer;
  }

  get isBadInput(): boolean {
    return BAD_INPUT_CODES.has(this.code);
  }

  get exitCode(): number {
    if (this.code === 'PF_INTERRUPTED') return EXIT.interrupted;
    return this.isBadInput ? EXIT.badInput : EXIT.failed;
  }
}

/** Several located input errors found in one pass, reported together. */
export class InputErrors extends ParamflowError {
  readonly errors: readonly ParamflowError[];

  constructor(errors: readonly ParamflowError[]) {
    const first = errors[0];
    if (!first) throw new Error('InputErrors needs at least one error');
    super(first.code, first.message, { location: first.location, hint: first.hint, pointer: first.pointer });
    this.name = 'InputErrors';
    this.errors = errors;
  }
}

export function formatLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  if (loc.line === undefined) return loc.file;
  return `${loc.file}:${loc.line}:${loc.column ?? 1}`;
}

/** One error as the CLI prints it: `file:line:col: error PF_X: message` then the hint. */
export function formatError(err: ParamflowError): string {
  const all = err instanceof InputErrors ? err.errors : [err];
  return all
    .map((e) => {
      const where = formatLocation(e.location);
      // Redacted here, the one place errors are printed: a message may quote a value the
      // user typed (`--set tracking.uri=http://user:pass@…`, an invalid URI).
      const head = redactSecrets(`${where ? `${where}: ` : ''}error ${e.code}: ${e.message}`);
      return e.hint ? `${head}\n  hint: ${redactSecrets(e.hint)}` : head;
    })
    .join('\n');
}
