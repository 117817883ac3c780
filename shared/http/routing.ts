import { routes, type HttpMethod, type RouteDefinition } from '../definitions/routes.js';
import { MethodNotAllowedError, NotFoundError, type LeadlogError } from '../domain/errors.js';

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
