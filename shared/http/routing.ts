import { routes, type HttpMethod, type RouteDefinition } from '../definitions/routes.js';
import { MethodNotAllowedError, NotFoundError, ValidationError, type LeadlogError } from '../domain/errors.js';
import type { FieldError } from '../domain/errors.js';
import { idProblem, MALFORMED_MESSAGE } from '../domain/schema.js';

/**
 * Matching a request against the route table, as API Gateway does: the local server routes with it, and a
 * request no route matches gets its answer here and nowhere else (`noRouteError`).
 */
interface CompiledRoute {
  route: RouteDefinition;
  pattern: RegExp;
  names: string[];
}

// Literal routes win over templated ones, as in API Gateway (`/v1/events/batch` before `/v1/events/{id}`).
const compiled: CompiledRoute[] = routes
  .map((route) => {
    const names: string[] = [];
    // `{name}` is one segment; a greedy `{name+}` (last only) the rest of the path, at least one character.
    const source = route.path.replace(/\{([a-z_]+)(\+?)\}/g, (_, name: string, greedy: string) => {
      names.push(name);
      return greedy ? '(.+)' : '([^/]+)';
    });
    // As in API Gateway's HTTP APIs, a trailing slash reaches the route without it (`/console/` → `/console`).
    return { route, pattern: new RegExp(`^${source}/?$`), names };
  })
  .sort((a, b) => a.names.length - b.names.length);

export function matchRoute(method: string, path: string): { route: RouteDefinition; pathParameters: Record<string, string> } | undefined {
  for (const candidate of compiled) {
    if (candidate.route.method !== method) continue;
    const match = candidate.pattern.exec(path);
    if (match) {
      const pathParameters: Record<string, string> = {};
      candidate.names.forEach((name, i) => (pathParameters[name] = match[i + 1]!));
      return { route: candidate.route, pathParameters };
    }
  }
  return undefined;
}

/** The methods the route table serves on this path (empty: an unknown path). */
export function allowedMethods(path: string): HttpMethod[] {
  const methods = compiled.filter((c) => c.pattern.test(path)).map((c) => c.route.method);
  return [...new Set(methods)].sort();
}

/** The one answer for a request no route matches: 405 with Allow on a known path, else 404. */
export function noRouteError(method: string, path: string): LeadlogError {
  const allow = allowedMethods(path);
  const shown = `${method.slice(0, 16)} ${path.slice(0, 200)}`;
  if (allow.length > 0) return new MethodNotAllowedError(`${shown} is not served; this path allows ${allow.join(', ')}.`, allow);
  return new NotFoundError(`No route for ${shown}.`);
}

/** A decoded path parameter's limit (contract section 3): DynamoDB's sort key is at most 1,024 bytes. */
export const MAX_PATH_PARAMETER_BYTES = 1024;
/** Path parameters that name a lead or a flow obey the id rule of every request (shared/domain/schema.ts). */
const ID_PARAMETERS = new Set(['lead_id', 'flow_id']);

/** One path segment, percent-decoded once: the value, or why it is refused. */
export function decodePathSegment(raw: string): { value: string } | { problem: string } {
  let value: string;
  try {
    // decodeURIComponent refuses a bad escape (`%E0%A4%A`), invalid UTF-8 and an encoded lone surrogate (`%ED%A0%80`).
    value = decodeURIComponent(raw);
  } catch {
    return { problem: 'is not valid percent-encoded UTF-8' };
  }
  if (!value.isWellFormed()) return { problem: MALFORMED_MESSAGE };
  if (Buffer.byteLength(value, 'utf8') > MAX_PATH_PARAMETER_BYTES) return { problem: `must be at most ${MAX_PATH_PARAMETER_BYTES} bytes decoded` };
  return { value };
}

/**
 * The one decoding of path parameters, for every route and both runtimes: API Gateway's HTTP API hands them to the
 * Lambda percent-encoded as they were in the URL (as the local stand-in does, matching `url.pathname`), and the
 * middleware decodes them here, exactly once, before any handler reads them. A malformed escape, a value over 1,024
 * bytes decoded, or a lead/flow id that breaks the id rule is a 400 naming the parameter.
 */
export function decodePathParameters(raw: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const decoded: Record<string, string> = {};
  const errors: FieldError[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const result = decodePathSegment(value);
    const problem = 'problem' in result ? result.problem : ID_PARAMETERS.has(name) ? idProblem(result.value) : undefined;
    if (problem !== undefined) errors.push({ path: name, message: problem });
    else if ('value' in result) decoded[name] = result.value;
  }
  if (errors.length > 0) throw new ValidationError(errors);
  return decoded;
}
