import { InvalidArgumentError } from 'commander';

/** `--tolerance 2%` or `--tolerance 0.02`: a relative tolerance. */
export function parseTolerance(value: string): number {
  const t = value.trim();
  const digits = t.endsWith('%') ? t.slice(0, -1).trim() : t;
  const n = t.endsWith('%') ? Number(digits) / 100 : Number(digits);
  if (digits === '' || !Number.isFinite(n) || n < 0 || n >= 1)
    throw new InvalidArgumentError('--tolerance must be a fraction in [0, 1) such as 0.02, or a percentage such as 2%');
  return n;
}
