import { ParamflowError } from '../../util/errors.js';

/**
 * Whether the train stage may use the fused trainer on the native backend
 * (`PARAMFLOW_FUSED`: unset or 1 = yes, 0 = the tfjs-layers path). Read when planning, as it
 * changes the trained weights and so the stage key; anything else is refused (exit 2).
 */
export function fusedEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.PARAMFLOW_FUSED;
  if (v === undefined || v === '' || v === '1') return true;
  if (v === '0') return false;
  throw new ParamflowError('PF_BAD_FLAG', `PARAMFLOW_FUSED must be 0 or 1, not ${JSON.stringify(v)}`, {
    location: { file: 'PARAMFLOW_FUSED' },
    hint: 'PARAMFLOW_FUSED=0 trains with tfjs-layers on the native backend; unset (or 1) uses the fused trainer where the model allows it',
  });
}
