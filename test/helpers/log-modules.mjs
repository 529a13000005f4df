// `node --import ./log-modules.mjs …`: appends every module the process loads (ESM by a
// resolve hook, CommonJS from require's cache at exit) to the file PF_MODULE_LOG names.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';

const log = process.env.PF_MODULE_LOG;
if (log) {
  register(
    'data:text/javascript,' +
      encodeURIComponent(`
    import { appendFileSync } from 'node:fs';
    export async function resolve(spec, context, next) {
      const r = await next(spec, context);
      if (!r.url.startsWith('node:')) appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
      return r;
    }`),
  );
  const cache = createRequire(import.meta.url).cache;
  process.on('exit', () => appendFileSync(log, Object.keys(cache).join('\n') + '\n'));
}
