// The TypeScript type of the values a JSON Schema accepts, for `defineStage()`: a stage
// module writes its `with:` schema once (`as const` not needed: defineStage infers it
// literally) and its `run` receives params typed from it. Covers what stage schemas use:
// type, properties/required/default, items, enum, const, oneOf/anyOf. Anything else is `unknown`.

/** A JSON Schema as written in a stage module. */
export interface JsonSchema {
  type?: string | readonly string[];
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  items?: JsonSchema;
  enum?: readonly unknown[];
  const?: unknown;
  default?: unknown;
  oneOf?: readonly JsonSchema[];
  anyOf?: readonly JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  [keyword: string]: unknown;
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Primitive<T> = T extends 'string'
  ? string
  : T extends 'number' | 'integer'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : T extends 'array'
          ? unknown[]
          : T extends 'object'
            ? Record<string, unknown>
            : unknown;

// Properties that are required, or have a default (filled in before `run`), are present.
type Present<S, P> = {
  [K in keyof P]: K extends (S extends { required: readonly (infer R)[] } ? R : never)
    ? K
    : P[K] extends { default: unknown }
      ? K
      : never;
}[keyof P];

type ObjectOf<S> = S extends { properties: infer P }
  ? Simplify<
      { -readonly [K in Present<S, P>]: FromSchema<P[K]> } & {
        -readonly [K in Exclude<keyof P, Present<S, P>>]?: FromSchema<P[K]>;
      }
    >
  : S extends { additionalProperties: infer A extends object }
    ? Record<string, FromSchema<A>>
    : Record<string, unknown>;

export type FromSchema<S> = S extends { const: infer C }
  ? C
  : S extends { enum: readonly (infer E)[] }
    ? E
    : S extends { oneOf: readonly (infer O)[] }
      ? FromSchema<O>
      : S extends { anyOf: readonly (infer O)[] }
        ? FromSchema<O>
        : S extends { type: 'object' } | { properties: object }
          ? ObjectOf<S>
          : S extends { type: 'array'; items: infer I }
            ? FromSchema<I>[]
            : S extends { type: infer T }
              ? T extends readonly (infer U)[]
                ? Primitive<U>
                : Primitive<T>
              : unknown;
