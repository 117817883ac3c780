import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FALLBACK_HANDLER, FALLBACK_ROUTE_KEY, HANDLER_NAMES, routeKey, type HandlerName, type RouteDefinition } from '../../shared/definitions/routes.js';
import type { AuthorizerContext, HttpEvent, HttpResult } from '../../shared/http/middleware.js';
import { toProblem } from '../../shared/http/problem.js';
import { decodePathSegment, matchRoute } from '../../shared/http/routing.js';
import { MalformedRequestError, PayloadTooLargeError, RequestHeadersTooLargeError } from '../../shared/domain/errors.js';
import type { Duplex } from 'node:stream';
import { LOCAL_FILES_PREFIX, verifyFileLink } from '../../shared/adapters/export-links.js';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { basename, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';

/**
 * The local stand-in for API Gateway (HTTP API, payload format 2.0): matches a request against the same
 * route table CDK deploys, runs the same Lambda authorizer on the Authorization header, and invokes the
 * same handler with the event API Gateway would build.
 */
export type LambdaHttpHandler = (event: HttpEvent, context: Context) => Promise<HttpResult | undefined | void>;
export type LambdaAuthorizer = (event: { headers: Record<string, string> }) => Promise<{ isAuthorized: boolean; context?: AuthorizerContext }>;

export interface LocalApiOptions {
  handlers: Record<HandlerName, LambdaHttpHandler>;
  authorizer: LambdaAuthorizer;
  /**
   * Cache the authorizer's answer per Authorization header, as API Gateway does (AUTHORIZER_CACHE_SECONDS
   * in AWS). 0, the default locally, asks on every request so a revoked key stops at once.
   */
  authorizerCacheSeconds?: number;
  /** Called after each request, for the console log. */
  onRequest?: (line: { method: string; path: string; status: number; ms: number }) => void;
  /**
   * The stand-in for S3's presigned GETs of export files: `/_files/<key>?expires=&signature=` streams
   * `<dir>/<key>` when the signature is the secret's and it has not expired (shared/adapters/export-links.ts).
   */
  files?: { dir: string; secret: string };
  /**
   * How long a request may run, as API Gateway's integration timeout (30 s) bounds it in AWS; the handlers see it as
   * the Lambda context's remaining time and stop their work a margin before (shared/http/handler.ts `withDeadline`).
   */
  requestTimeoutMs?: number;
}

/** API Gateway's HTTP API integration timeout, less a second: the local default for a request's time. */
export const LOCAL_REQUEST_TIMEOUT_MS = 29_000;

/** API Gateway's own request size limit; the handlers enforce the contract's smaller per-route limits. */
const API_GATEWAY_MAX_BODY = 10 * 1024 * 1024;
const TEXTUAL = /^(?:text\/|application\/(?:[a-z0-9.+-]+\+)?(?:json|xml|x-www-form-urlencoded|javascript))/i;

function lambdaContext(functionName: string, requestId: string, timeoutMs = LOCAL_REQUEST_TIMEOUT_MS): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > API_GATEWAY_MAX_BODY) throw new PayloadTooLargeError(`The body exceeds ${API_GATEWAY_MAX_BODY} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

export interface GatewayRequest {
  method: string;
  url: URL;
  /** Lower-cased names; repeated headers joined with ',' as API Gateway does. */
  headers: Record<string, string>;
  body: Buffer;
  /** The matched route; undefined sends the request to API Gateway's catch-all ($default). */
  route?: RouteDefinition | undefined;
  pathParameters: Record<string, string>;
  requestId: string;
  sourceIp?: string;
  protocol?: string;
}

/** The payload-format-2.0 event API Gateway would hand the Lambda for this request. */
export function toApiGatewayEvent(request: GatewayRequest): HttpEvent {
  const { url, body, headers, route, pathParameters } = request;
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  const contentType = headers['content-type'] ?? '';
  const textual = (contentType === '' || TEXTUAL.test(contentType)) && isUtf8(body);
  const now = new Date();
  const key = route ? routeKey(route) : FALLBACK_ROUTE_KEY;
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method,
        path: url.pathname,
        protocol: request.protocol ?? 'HTTP/1.1',
        sourceIp: request.sourceIp ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: request.requestId,
      routeKey: key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 ? { body: textual ? body.toString('utf8') : body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0 && !textual,
  };
  return event;
}

function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i]!.toLowerCase();
    const value = request.rawHeaders[i + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  return headers;
}

function send(response: ServerResponse, result: HttpResult): number {
  const body = result.body === undefined ? '' : result.isBase64Encoded ? Buffer.from(result.body, 'base64') : result.body;
  response.writeHead(result.statusCode ?? 200, { 'content-type': 'application/json', ...result.headers });
  response.end(body);
  return result.statusCode ?? 200;
}

function problemResult(error: unknown, requestId: string): HttpResult {
  const { problem, headers } = toProblem(error, requestId);
  return {
    statusCode: problem.status,
    headers: { 'content-type': 'application/problem+json', 'x-request-id': requestId, ...headers },
    body: JSON.stringify(problem),
  };
}

type AuthorizerDecision = Awaited<ReturnType<LambdaAuthorizer>>;
const authorizerCaches = new WeakMap<LambdaAuthorizer, Map<string, { decision: AuthorizerDecision; until: number }>>();

async function authorize(options: Pick<LocalApiOptions, 'authorizer' | 'authorizerCacheSeconds'>, headers: Record<string, string>): Promise<AuthorizerDecision> {
  const ttlMs = (options.authorizerCacheSeconds ?? 0) * 1000;
  if (ttlMs <= 0) return options.authorizer({ headers });
  let cache = authorizerCaches.get(options.authorizer);
  if (!cache) authorizerCaches.set(options.authorizer, (cache = new Map()));
  const identity = headers.authorization!;
  const hit = cache.get(identity);
  if (hit && hit.until > Date.now()) return hit.decision;
  const decision = await options.authorizer({ headers });
  if (cache.size > 10_000) cache.clear();
  cache.set(identity, { decision, until: Date.now() + ttlMs });
  return decision;
}

/**
 * Runs one request through the stand-in: authorizer (when the route needs a key and one is sent), then the
 * route's handler; a request no route matched goes to the catch-all's handler, as API Gateway's $default does.
 */
export async function invokeRoute(
  options: Pick<LocalApiOptions, 'handlers' | 'authorizer' | 'authorizerCacheSeconds' | 'requestTimeoutMs'>, event: HttpEvent, route: RouteDefinition | undefined,
): Promise<HttpResult> {
  if (route?.scope && event.headers.authorization) {
    const decision = await authorize(options, event.headers as Record<string, string>);
    if (decision.isAuthorized && decision.context) event.requestContext.authorizer = { lambda: decision.context };
  }
  const name = route?.handler ?? FALLBACK_HANDLER;
  return (await options.handlers[name](event, lambdaContext(`leadlog-${name}`, event.requestContext.requestId, options.requestTimeoutMs))) as HttpResult;
}

/** A signed file URL, as S3 answers a presigned GET: 200 with the bytes, 403 for a bad or expired signature, 404. */
async function serveFile(files: { dir: string; secret: string }, url: URL, response: ServerResponse): Promise<number> {
  const answer = (status: number, text: string) => {
    response.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
    return status;
  };
  // Decoded once, as every path parameter is (shared/http/routing.ts); a malformed escape is S3's 400, not a 500.
  const decoded = decodePathSegment(url.pathname.slice(LOCAL_FILES_PREFIX.length));
  if ('problem' in decoded) return answer(400, `The key ${decoded.problem}.\n`);
  const key = decoded.value;
  const path = resolve(files.dir, key);
  if (!verifyFileLink(files.secret, key, url.searchParams.get('expires'), url.searchParams.get('signature'), Date.now())) return answer(403, 'Request has expired or the signature does not match.\n');
  if (!path.startsWith(resolve(files.dir) + sep) || !existsSync(path)) return answer(404, 'The specified key does not exist.\n');
  const type = path.endsWith('.csv') ? 'text/csv; charset=utf-8' : path.endsWith('.jsonl') ? 'application/x-ndjson' : 'application/vnd.apache.parquet';
  response.writeHead(200, { 'content-type': type, 'content-length': String(statSync(path).size), 'content-disposition': `attachment; filename="${basename(path)}"` });
  await pipeline(createReadStream(path), response);
  return 200;
}

/**
 * What Node's HTTP parser refuses before any handler runs (headers over its limit, a lying Content-Length) is
 * answered as every other refusal is: problem+json with an x-request-id, not Node's bare status line.
 */
function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const requestId = randomUUID();
  const refusal = error.code === 'HPE_HEADER_OVERFLOW'
    ? new RequestHeadersTooLargeError('The request line and headers are larger than this API takes (API Gateway: 10 KB).')
    : new MalformedRequestError('The request could not be read as HTTP/1.1 (check Content-Length and the request line).');
  const { problem } = toProblem(refusal, requestId);
  const body = JSON.stringify(problem);
  socket.end(`HTTP/1.1 ${problem.status} ${problem.title}\r\ncontent-type: application/problem+json\r\nx-request-id: ${requestId}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}

export function createLocalApi(options: LocalApiOptions): Server {
  return createServer(async (request, response) => {
    const started = performance.now();
    const requestId = randomUUID();
    const method = request.method ?? 'GET';
    let url: URL;
    let status = 500;
    try {
      // The request target is a path: `//v1/events` is that path (API Gateway's), not a host named v1.
      url = new URL(`http://localhost${(request.url ?? '/').startsWith('/') ? request.url : `/${request.url}`}`);
    } catch {
      url = new URL('http://localhost/');
    }
    try {
      if (options.files && method === 'GET' && url.pathname.startsWith(LOCAL_FILES_PREFIX)) {
        status = await serveFile(options.files, url, response);
        return;
      }
      const matched = matchRoute(method, url.pathname);
      const body = await readBody(request);
      const event = toApiGatewayEvent({
        method, url, headers: headersOf(request), body, route: matched?.route, pathParameters: matched?.pathParameters ?? {}, requestId,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1', protocol: `HTTP/${request.httpVersion}`,
      });
      status = send(response, await invokeRoute(options, event, matched?.route));
    } catch (error) {
      // A handler's own errors are already problem+json; this is for the stand-in's (body too large, I/O).
      if (!response.headersSent) status = send(response, problemResult(error, requestId));
      else response.destroy();
    } finally {
      options.onRequest?.({ method, path: url.pathname, status, ms: performance.now() - started });
    }
  }).on('clientError', answerClientError);
}

/** The real module of every handler in the route table (the compiler checks none is missing), and the authorizer. */
const FUNCTION_MODULES: Record<HandlerName | 'authorizer', () => Promise<{ handler: unknown }>> = {
  ingest: () => import('../../functions/ingest.js'),
  query: () => import('../../functions/query.js'),
  health: () => import('../../functions/health.js'),
  webhooks: () => import('../../functions/webhooks.js'),
  admin: () => import('../../functions/admin.js'),
  console: () => import('../../functions/console.js'),
  exports: () => import('../../functions/exports.js'),
  replays: () => import('../../functions/replays.js'),
  proofs: () => import('../../functions/proofs.js'),
  authorizer: () => import('../../functions/authorizer.js'),
};

/** Imports the handler modules of the route table's handlers and the authorizer (functions/<name>.ts). */
export async function loadLambdaHandlers(): Promise<{ handlers: Record<HandlerName, LambdaHttpHandler>; authorizer: LambdaAuthorizer }> {
  const load = async (name: HandlerName | 'authorizer') => (await FUNCTION_MODULES[name]()).handler;
  const handlers = Object.fromEntries(await Promise.all(HANDLER_NAMES.map(async (name) => [name, await load(name)])));
  return { handlers: handlers as Record<HandlerName, LambdaHttpHandler>, authorizer: (await load('authorizer')) as LambdaAuthorizer };
}
