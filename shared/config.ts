import {
  EITHER_OF, environmentVariables, functionVariables, type EnvName, type EnvType, type EnvVariable, type FunctionName,
} from './definitions/environment.js';

/**
 * The one typed configuration module: parses the environment contract (shared/definitions/environment.ts).
 * Given the function it runs in, it requires that function's variables at start-up (cold start) and names
 * every missing or malformed one at once, never halfway through a request. A variable the contract does not
 * list for the function, read anyway, throws a ConfigError naming it.
 */
type Spec<N extends EnvName> = (typeof environmentVariables)[N];
type Value<N extends EnvName> = Spec<N>['type'] extends 'seconds' ? number : Spec<N>['type'] extends 'names' ? readonly string[] : string;
type Field<N extends EnvName> = Spec<N>['field'];
type Optional<N extends EnvName> = Spec<N> extends { optional: true } ? N : never;

export type Config = { readonly [N in EnvName as Field<N>]: N extends Optional<N> ? Value<N> | undefined : Value<N> };

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const PARSERS: Record<EnvType, (value: string) => string | number | readonly string[] | undefined> = {
  string: (value) => value,
  url: (value) => (/^https?:\/\/\S+$/.test(value) ? value : undefined),
  seconds: (value) => {
    const seconds = Number(value);
    return Number.isInteger(seconds) && seconds >= 0 && seconds <= 3600 ? seconds : undefined;
  },
  // An HMAC key at least as long as its output (RFC 2104).
  secret: (value) => (value.length >= 32 ? value : undefined),
  // A list whose order means something (an index into it is kept elsewhere): no empty name, no name twice.
  names: (value) => {
    const names = value.split(',').map((name) => name.trim());
    return names.every((name) => name !== '') && new Set(names).size === names.length ? names : undefined;
  },
};
const EXPECTED: Record<EnvType, string> = { string: 'a non-empty string', url: 'an http(s) URL', seconds: 'whole seconds, 0..3600', secret: 'at least 32 characters', names: 'comma-separated names, none empty or repeated' };

/** `fn` names the function whose variables must be present; the process environment is read unless `env` is given. */
export function loadConfig(fn?: FunctionName, env: Record<string, string | undefined> = process.env): Config {
  const problems: string[] = [];
  const config = {} as Record<string, unknown>;
  for (const name of Object.keys(environmentVariables) as EnvName[]) {
    const spec: { type: EnvType; field: string; default?: string; optional?: true } = environmentVariables[name];
    const raw = env[name]?.trim() || spec.default;
    const value = raw === undefined ? undefined : PARSERS[spec.type](raw);
    if (raw !== undefined && value === undefined) problems.push(`${name} must be ${EXPECTED[spec.type]}`);
    if (value !== undefined || spec.optional) {
      config[spec.field] = value;
    } else {
      Object.defineProperty(config, spec.field, {
        enumerable: false,
        get: () => {
          throw new ConfigError(`leadlog configuration: ${name} is required here${fn ? ` (not in the ${fn} function's contract)` : ''}`);
        },
      });
    }
  }
  for (const name of fn ? (functionVariables[fn] as readonly EnvName[]) : []) {
    // An optional variable names an AWS resource that has a local stand-in (the erasure workflow, the archive's Athena).
    const spec: EnvVariable = environmentVariables[name];
    const pair = EITHER_OF.find((names) => names.includes(name));
    const present = pair ? pair.some((n) => env[n]?.trim()) : env[name]?.trim() || spec.default !== undefined || spec.optional;
    if (!present) problems.push(pair ? `${pair.join(' (AWS) or ')} (local) is required` : `${name} is required`);
  }
  if (problems.length > 0) throw new ConfigError(`leadlog configuration: ${problems.join('; ')}`);
  return config as Config;
}
