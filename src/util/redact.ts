// The one redaction every stored or printed value goes through (run.json, `runs`, `show`,
// `--json`, exports, HTML reports, error messages, git remotes in the run environment).
// Secrets reach paramflow inside ordinary texts — `--set tracking.uri=http://user:pass@host`,
// a git remote `https://TOKEN@github.com/…`, `?token=…` — so this works on any text, not only
// on a parsed URL: it must also catch what `new URL` refuses (an invalid URI is still echoed).
// Only the secret part is replaced: the host, path and names stay, so a reader can still tell
// which server or remote was meant.

/** What a secret is replaced with. */
export const REDACTED = '***';

// Names whose value is a secret, anchored at the end of the name (after a separator or at its
// start), so `sigma`, `keys_total` or `monkey` stay. Query parameters also take the short
// names (`?key=`, `?sig=`); free text takes only unambiguous ones (`cache key: ab12…` stays).
const PARAM_NAME = String.raw`(?:[A-Za-z0-9_.-]*?[_.-])?(?:token|api_?key|apikey|key|secret|password|passwd|pwd|pass|auth|authorization|credentials?|signature|sig)`;
const PAIR_NAME = String.raw`(?:[A-Za-z0-9_.-]*?[_.-])?(?:token|api_?key|apikey|access_?key|secret_?key|private_?key|secret|password|passwd|authorization|credentials?)`;

// scheme://user-info@ — user-info may hold '@' when written unencoded (an invalid URI), so
// everything up to the LAST '@' before the host's path/query goes.
const USER_INFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#"'`<>]*)@/gi;
// ?token=… &key=… ;password=… #access_token=…
const SECRET_PARAM = new RegExp(String.raw`([?&;#]${PARAM_NAME})=([^&#\s"'\`<>]*)`, 'gi');
// `Bearer abc…`, `Basic dXNlcjpw…` (an Authorization header's value, wherever it is quoted).
// A Basic value is base64: it has a digit, '+', '/' or '=' (so "Basic statistics" stays).
const AUTH_SCHEME = /\b(Bearer(\s+)[A-Za-z0-9._~+/=-]{6,}|Basic(\s+)(?=[A-Za-z+/]*[0-9+/=])[A-Za-z0-9+/]{4,}={0,2})/g;
// `name=value` / `name: value` where the name is secret-like: `--set tracking.token=…`,
// `MLFLOW_TRACKING_PASSWORD=…`, `authorization: …`. The value runs to whitespace or a quote.
const SECRET_PAIR = new RegExp(
  String.raw`(^|[\s,{(\`"'])(${PAIR_NAME})(\s*[=:]\s*)(?!\*\*\*|Bearer\s|Basic\s)([^\s,}\`"']+)`,
  'gim',
);

const SECRET_KEY = new RegExp(String.raw`^${PAIR_NAME}$`, 'i');

/** `text` with every user-info, token-like parameter, Authorization value and secret-named value replaced by `***`. */
export function redactSecrets(text: string): string {
  if (text === '') return text;
  return text
    .replace(USER_INFO, (_m, scheme: string) => `${scheme}${REDACTED}@`)
    .replace(SECRET_PARAM, (_m, name: string, value: string) => (value === '' ? `${name}=` : `${name}=${REDACTED}`))
    .replace(AUTH_SCHEME, (m: string) => `${m.startsWith('Bearer') ? 'Bearer' : 'Basic'} ${REDACTED}`)
    .replace(SECRET_PAIR, (m, lead: string, name: string, sep: string, value: string) =>
      /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? m : `${lead}${name}${sep}${REDACTED}`,
    );
}

/** Every string inside `value` (object keys kept) redacted: for records and JSON output. */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redactSecrets(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        k,
        SECRET_KEY.test(k) && (typeof v === 'string' || typeof v === 'number') ? REDACTED : redactDeep(v),
      ]),
    ) as T;
  }
  return value;
}
