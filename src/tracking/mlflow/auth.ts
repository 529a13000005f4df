import { inspect } from 'node:util';

export type Env = Readonly<Record<string, string | undefined>>;

// The credentials the MLflow clients read from the environment. The header value is
// kept in a private field: it never serialises (JSON, util.inspect) and `scrub` removes
// every form of it from any text paramflow is about to show or write.
export class MlflowAuth {
  readonly #header: string;
  readonly #secrets: readonly string[];
  readonly scheme: 'Bearer' | 'Basic';

  private constructor(scheme: 'Bearer' | 'Basic', header: string, secrets: string[]) {
    this.scheme = scheme;
    this.#header = header;
    this.#secrets = secrets.filter((s) => s.length >= 3).sort((a, b) => b.length - a.length);
  }

  static bearer(token: string): MlflowAuth {
    return new MlflowAuth('Bearer', `Bearer ${token}`, [token]);
  }

  static basic(user: string, password: string): MlflowAuth {
    const encoded = Buffer.from(`${user}:${password}`).toString('base64');
    return new MlflowAuth('Basic', `Basic ${encoded}`, [password, encoded, encodeURIComponent(password)]);
  }

  /** The Authorization header value; only the HTTP layer reads it. */
  header(): string {
    return this.#header;
  }

  /** `text` with every secret replaced by `***`. */
  scrub(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('***');
    return out;
  }

  toJSON(): string {
    return `[${this.scheme} credentials]`;
  }

  [inspect.custom](): string {
    return this.toJSON();
  }
}

/**
 * `MLFLOW_TRACKING_TOKEN` → Bearer, else `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`
 * → Basic (as MLflow's own clients read them); else user:password written in the URI.
 */
export function authFromEnv(env: Env, fromUri?: { user?: string; password?: string }): MlflowAuth | undefined {
  const token = env.MLFLOW_TRACKING_TOKEN;
  if (token) return MlflowAuth.bearer(token);
  const user = env.MLFLOW_TRACKING_USERNAME;
  const password = env.MLFLOW_TRACKING_PASSWORD;
  if (user || password) return MlflowAuth.basic(user ?? '', password ?? '');
  if (fromUri?.user) return MlflowAuth.basic(fromUri.user, fromUri.password ?? '');
  return undefined;
}
