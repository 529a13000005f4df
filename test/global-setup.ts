import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Every temp folder a test makes (mkdtemp under os.tmpdir(), in the test's process or in the
// paramflow processes it starts) lands in one folder per `npm test`, removed at the end, so the
// machine's /tmp does not fill up run after run. PARAMFLOW_KEEP_TEST_TMP=1 keeps it to inspect.
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'paramflow-test-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    if (process.env.PARAMFLOW_KEEP_TEST_TMP === '1') process.stderr.write(`test temp folders kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
