import { ParamflowError } from '../../util/errors.js';

// A failed MLflow request, with what the server said (or why there was no answer).
// Messages never carry credentials: the client scrubs every text before it gets here.

export type MlflowFailureKind =
  /** The server answered with an HTTP error status. */
  | 'status'
  /** No connection was made: nothing reached the server (safe to resend anything). */
  | 'unreachable'
  /** The connection broke or timed out after the request may have reached the server. */
  | 'network';

export interface MlflowErrorFields {
  kind: MlflowFailureKind;
  /** `POST runs/log-batch`, `PUT mlflow-artifacts/…`. */
  endpoint: string;
  status?: number;
  /** MLflow's `error_code` (`RESOURCE_DOES_NOT_EXIST`, `INVALID_PARAMETER_VALUE`, …). */
  errorCode?: string;
  /** From a `Retry-After` header, in milliseconds. */
  retryAfterMs?: number;
  hint?: string;
  cause?: unknown;
}

/** A ParamflowError with code PF_MLFLOW: printed and exited on (1) like every other error. */
export class MlflowError extends ParamflowError {
  readonly kind: MlflowFailureKind;
  readonly endpoint: string;
  readonly status?: number;
  readonly errorCode?: string;
  readonly retryAfterMs?: number;

  constructor(message: string, fields: MlflowErrorFields) {
    super('PF_MLFLOW', message, { hint: fields.hint, cause: fields.cause });
    this.name = 'MlflowError';
    this.kind = fields.kind;
    this.endpoint = fields.endpoint;
    this.status = fields.status;
    this.errorCode = fields.errorCode;
    this.retryAfterMs = fields.retryAfterMs;
  }

  /** A 4xx other than 429, or a server that refuses the request for good: resending cannot help. */
  get permanent(): boolean {
    return (
      this.kind === 'status' &&
      this.status !== undefined &&
      this.status >= 400 &&
      this.status < 500 &&
      this.status !== 429
    );
  }

  /** What the user reads: the message, then the hint. */
  describe(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }
}

export function isMlflowError(err: unknown, errorCode?: string): err is MlflowError {
  return err instanceof MlflowError && (errorCode === undefined || err.errorCode === errorCode);
}

const HINTS: Record<number, string> = {
  401: 'the server wants credentials: set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD',
  403: 'the credentials were refused: check MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD',
  404: 'is the tracking URI the root of an MLflow server (e.g. http://127.0.0.1:5000)?',
  405: 'is the tracking URI the root of an MLflow server (e.g. http://127.0.0.1:5000)?',
};

/** The hint for an HTTP status, when there is a useful one. */
export function statusHint(status: number): string | undefined {
  return HINTS[status];
}

export const UNREACHABLE_HINT =
  'is the MLflow server running? Start one with `mlflow server --host 127.0.0.1 --port 5000`; `paramflow sync` sends what was spooled';
