import { ParamflowError } from '../../util/errors.js';
import { redactSecrets } from '../../util/redact.js';

const START_SERVER = 'mlflow server --backend-store-uri sqlite:///mlflow.db --host 127.0.0.1 --port 5000';

// paramflow talks to MLflow only over its REST API: a tracking URI must be an http(s)
// server. Local stores (`file:`, a path, `sqlite:`…) are served by `mlflow server`.
export function trackingUriProblem(uri: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    try {
      new URL(uri);
      return undefined;
    } catch {
      return `MLflow tracking URI \`${redactUri(uri)}\` is not a valid URL`;
    }
  }
  if (scheme === 'file' || scheme === undefined || /^[a-z]:[\\/]/i.test(uri)) {
    return (
      `MLflow tracking URI \`${redactUri(uri)}\` is a local folder: MLflow's file store is deprecated and paramflow ` +
      `logs only to a tracking server over its REST API`
    );
  }
  return `MLflow tracking URI \`${redactUri(uri)}\` (${scheme}:) is not an http(s) tracking server: paramflow logs over MLflow's REST API`;
}

/** The hint that goes with every refused tracking URI. */
export const TRACKING_URI_HINT = `run \`${START_SERVER}\` and set MLFLOW_TRACKING_URI=http://127.0.0.1:5000 (or tracking.uri in the pipeline)`;

/** Parses an http(s) tracking URI, refusing anything else (bad input, exit code 2). */
export function parseTrackingUri(uri: string): URL {
  const problem = trackingUriProblem(uri);
  if (problem) {
    throw new ParamflowError('PF_BAD_FLAG', problem, {
      location: { file: '<MLFLOW_TRACKING_URI or tracking.uri>' },
      hint: TRACKING_URI_HINT,
    });
  }
  return new URL(uri);
}

/** The URI without user:password, query or fragment: safe in messages and on disk. */
/**
 * The tracking settings a job carries to a worker in another project folder (a queue
 * worker): the server without credentials (each machine keeps its own) and the experiment
 * as resolved here, so the worker logs where a run here would.
 */
export function trackingEnvElsewhere(uri: string, experiment: string): Record<string, string> {
  return { MLFLOW_TRACKING_URI: redactUri(uri), MLFLOW_EXPERIMENT_NAME: experiment };
}

export function redactUri(uri: string): string {
  try {
    const u = new URL(uri);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return redactSecrets(uri); // not a URL: user-info may hold '@' itself
  }
}

/** The server's root (origin + path prefix, no trailing slash) and any user:password written in the URI. */
export function splitTrackingUri(url: URL): { origin: string; basePath: string; user?: string; password?: string } {
  const basePath = url.pathname.replace(/\/+$/, '');
  return {
    origin: url.origin,
    basePath,
    ...(url.username ? { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) } : {}),
  };
}

/** Where the MLflow UI shows a run. */
export function runUrl(uri: string, experimentId: string, runId: string): string {
  return `${redactUri(uri)}/#/experiments/${experimentId}/runs/${runId}`;
}
