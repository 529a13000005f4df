import type { PredictFlags } from '../command-options.js';
import { writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { findProjectRoot } from '../../project/root.js';
import { EXIT } from '../../util/errors.js';
import { encodeNpy } from '../../format/npy.js';
import { predictCurves, type Prediction } from '../../predict/predict.js';
import { ndarray } from '../../stage-contract/ndarray.js';

export async function predictCommand(ref: string, input: string, flags: PredictFlags): Promise<number> {
  const p = await predictCurves({ root: findProjectRoot(process.cwd()), ref, input, backend: flags.backend });
  process.stderr.write(
    `predicted ${p.mean.length} curve(s) with the ${p.folds} fold models of run ${p.runId} (backend ${p.backend}); ± is the spread across folds\n`,
  );
  if (!flags.out) {
    process.stdout.write(toCsv(p));
  } else if (extname(flags.out) === '.npy') {
    const k = p.targetNames.length;
    await writeFile(flags.out, encodeNpy(ndarray('float32', [p.mean.length, k], Float32Array.from(p.mean.flat()))));
    const stdFile = flags.out.replace(/\.npy$/, '.std.npy');
    await writeFile(stdFile, encodeNpy(ndarray('float32', [p.std.length, k], Float32Array.from(p.std.flat()))));
    process.stderr.write(
      `wrote ${flags.out} (means) and ${stdFile} (spread), shape [${p.mean.length}, ${k}], columns ${p.targetNames.join(', ')}\n`,
    );
  } else {
    await writeFile(flags.out, toCsv(p));
    process.stderr.write(`wrote ${flags.out}\n`);
  }
  return EXIT.ok;
}

function toCsv(p: Prediction): string {
  const header = ['curve', ...p.targetNames.flatMap((t) => [t, `${t}_std`])].join(',');
  const rows = p.mean.map((m, i) => [i, ...m.flatMap((v, t) => [v, p.std[i]![t]!])].join(','));
  return [header, ...rows].join('\n') + '\n';
}
