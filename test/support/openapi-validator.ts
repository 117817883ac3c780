import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../shared/http/openapi.js';

/**
 * Checks an HTTP answer of the API against GET /v1/openapi.json with ajv, a validator we did not write: the
 * operation is found by method and path template, the response by status (else `default`), the media type by
 * content-type, and a JSON body is validated against the described schema. test/support/env.ts runs it on every
 * response any test receives from a local API, so the document and the code cannot drift apart.
 */
type Json = Record<string, any>;
const document = openApiDocument() as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema({ $id: 'leadlog', components: document.components });

const templates = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[a-z_]+\}/g, '[^/]+')}/?$`),
})).sort((a, b) => a.template.split('{').length - b.template.split('{').length);

const compiled = new Map<string, ValidateFunction>();
function validatorFor(schema: Json): ValidateFunction {
  const key = JSON.stringify(schema);
  let validate = compiled.get(key);
  if (!validate) {
    const resolved = schema.$ref ? { $ref: `leadlog${schema.$ref}` } : schema;
    validate = ajv.compile(resolved);
    compiled.set(key, validate);
  }
  return validate;
}

const deref = (value: Json): Json => (value.$ref ? deref(value.$ref.split('/').slice(1).reduce((node: Json, part: string) => node[part], document)) : value);

export let validatedResponses = 0;

/** Undefined when the answer is as described; otherwise what is wrong with it. */
export function checkResponse(method: string, path: string, status: number, contentType: string | null, text: string): string | undefined {
  const where = `${method} ${path} → ${status}`;
  const match = templates.find((t) => t.pattern.test(path));
  const operation = match ? document.paths[match.template][method.toLowerCase()] : undefined;
  // A path or method no route serves: the 404/405 problem every route answers.
  const described: Json | undefined = operation
    ? operation.responses[String(status)] ?? operation.responses.default
    : document.components.responses.ProblemDefault;
  if (!described) return `${where}: status not described`;
  const response = deref(described);
  if (!response.content) return text === '' ? undefined : `${where}: described without a body, answered ${text.slice(0, 80)}`;
  const mediaType = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  const media = response.content[mediaType] ?? response.content['*/*'];
  if (!media) return `${where}: content-type ${mediaType || '(none)'} not among ${Object.keys(response.content).join(', ')}`;
  validatedResponses++;
  if (!/json$/.test(mediaType) || !media.schema || response.content['*/*']) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `${where}: ${mediaType} body is not JSON`;
  }
  const validate = validatorFor(media.schema);
  if (validate(body)) return undefined;
  return `${where}: body does not match ${media.schema.$ref ?? 'its schema'}: ${ajv.errorsText(validate.errors, { separator: '; ' })}`;
}
