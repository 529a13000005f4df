import { InvalidArgumentError } from 'commander';

// An option of the command table, and the type of the value commander hands the command for
// it, read from the same declaration: `--no-cache` → `cache: boolean`, `-j, --jobs <n>` with a
// parser → `jobs?: number`. A command's flags type is never written by hand beside its options.

export interface OptionSpec {
  /** Commander's flags: `-j, --jobs <n>`, `--no-cache`. */
  readonly flags: string;
  readonly description: string;
  /** Turns the typed text into the value (and refuses a bad one with InvalidArgumentError). */
  readonly parse?: (value: string, previous: unknown) => unknown;
  readonly default?: unknown;
  readonly choices?: readonly string[];
  /** The command refuses to run without it. */
  readonly required?: boolean;
}

type Camel<S extends string> = S extends `${infer H}-${infer T}` ? `${H}${Capitalize<Camel<T>>}` : S;
type LongName<F extends string> = F extends `${string}--${infer R}`
  ? R extends `${infer N} ${string}`
    ? N
    : R
  : never;
type FlagKey<F extends string> = LongName<F> extends `no-${infer N}` ? Camel<N> : Camel<LongName<F>>;
type FlagValue<O extends OptionSpec> = O extends { parse: (...a: never[]) => infer R }
  ? R
  : O extends { choices: readonly (infer C)[] }
    ? C
    : O['flags'] extends `${string}<${string}>`
      ? string
      : O['flags'] extends `${string}[${string}]`
        ? string | true
        : boolean;
/** Present whenever the command runs: a default, a mandatory option, or a negatable switch. */
type Always<O extends OptionSpec> = O extends { default: unknown } | { required: true } | { flags: `--no-${string}` }
  ? true
  : false;

/** The flags a command receives for its options. */
export type FlagsOf<Os extends readonly OptionSpec[]> = {
  [O in Os[number] as Always<O> extends true ? FlagKey<O['flags']> : never]: FlagValue<O>;
} & {
  [O in Os[number] as Always<O> extends true ? never : FlagKey<O['flags']>]?: FlagValue<O>;
};

export const collect = (value: string, previous: unknown): string[] => [...((previous as string[]) ?? []), value];
export const wholeNumber =
  (name: string, min: number) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}`);
    return n;
  };
