/**
 * Vendors LeadConduit's published `Event` schema (and every schema it $refs, transitively) from LeadConduit's
 * OpenAPI document into test/fixtures/leadconduit/event.schema.json, as one JSON Schema (2020-12, which OpenAPI 3.1
 * schemas are) whose `#/components/schemas/X` references become `#/$defs/X`. Run once by hand when the upstream
 * document changes; the output is committed, so nothing downloads at test time:
 *
 *   git -C /work/.mirror/activeprospect+kb/repo show HEAD:openapi/openapi.yaml > /tmp/lc/openapi.yaml
 *   npx tsx scripts/vendor-leadconduit-schema.ts /tmp/lc/openapi.yaml
 *
 * It parses YAML with `@stoplight/yaml` (already installed through Spectral; a dev-time script only).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parse } from '@stoplight/yaml';

const SOURCE = { repository: 'https://github.com/activeprospect/kb', commit: 'e8fb85e', path: 'openapi/openapi.yaml' };
const OUT = new URL('../test/fixtures/leadconduit/event.schema.json', import.meta.url);
const REF_PREFIX = '#/components/schemas/';

const file = process.argv[2];
if (!file || file === '--help') {
  console.log('usage: npx tsx scripts/vendor-leadconduit-schema.ts <path to LeadConduit openapi.yaml>');
  process.exit(file ? 0 : 1);
}
const document = parse(readFileSync(file, 'utf8')) as { components: { schemas: Record<string, unknown> } };
const schemas = document.components.schemas;

/** Every schema name reachable from `root` by $ref, in discovery order. */
function reachable(root: string): string[] {
  const seen = new Set<string>();
  const pending = [root];
  while (pending.length > 0) {
    const name = pending.pop()!;
    if (seen.has(name)) continue;
    if (!(name in schemas)) throw new Error(`the document has no schema '${name}'`);
    seen.add(name);
    const walk = (value: unknown): void => {
      if (Array.isArray(value)) value.forEach(walk);
      else if (value !== null && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) {
          if (key === '$ref' && typeof child === 'string' && child.startsWith(REF_PREFIX)) pending.push(child.slice(REF_PREFIX.length));
          else walk(child);
        }
      }
    };
    walk(schemas[name]);
  }
  return [...seen].sort();
}

/** The schema with its references pointing into $defs (discriminator mappings too). */
function rewrite(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewrite);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([key, child]) => [
    key, typeof child === 'string' && child.startsWith(REF_PREFIX) ? `#/$defs/${child.slice(REF_PREFIX.length)}` : rewrite(child),
  ]));
}

const names = reachable('Event');
const vendored = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://leadlog.local/fixtures/leadconduit/event.schema.json',
  $comment: `LeadConduit's Event schema from ${SOURCE.repository} @ ${SOURCE.commit}, ${SOURCE.path} (components.schemas.Event and what it references). Used only to validate test fixtures.`,
  $ref: '#/$defs/Event',
  $defs: Object.fromEntries(names.map((name) => [name, rewrite(schemas[name])])),
};
writeFileSync(OUT, `${JSON.stringify(vendored, null, 2)}\n`);
console.log(`wrote ${names.length} schemas (${names.join(', ')}) to ${OUT.pathname}`);
