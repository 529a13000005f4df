import { MlflowError } from './errors.js';

// The server's artifact proxy serves runs whose artifact root is `mlflow-artifacts:`; a run
// logged elsewhere (an `s3://` or local root) cannot be uploaded through it.

/** `mlflow-artifacts:/1/<run>/artifacts` + `plots/a.png` → `1/<run>/artifacts/plots/a.png` (URL-encoded segments). */
export function proxyPath(artifactUri: string, path: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  if (!m) {
    throw new MlflowError(`the run's artifact root \`${artifactUri}\` is not served by the tracking server`, {
      kind: 'status',
      endpoint: 'PUT mlflow-artifacts',
      status: 400,
      hint: 'start `mlflow server` with --artifacts-destination (artifact proxying, the default since MLflow 2) so clients upload through it',
    });
  }
  const segments = `${m[1]!.replace(/\/$/, '')}/${path}`.split('/').filter((s) => s !== '');
  return segments.map(encodeURIComponent).join('/');
}
