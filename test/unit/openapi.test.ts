import { describe, expect, it } from 'vitest';
import spectralCore from '@stoplight/spectral-core';
import spectralParsers from '@stoplight/spectral-parsers';
import { oas } from '@stoplight/spectral-rulesets';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { openApiDocument } from '../../shared/http/openapi.js';
import { routeKey, routes } from '../../shared/definitions/routes.js';

const { Document, Spectral } = spectralCore;

describe('the OpenAPI document (GET /v1/openapi.json)', () => {
  const document = openApiDocument() as { openapi: string; paths: Record<string, Record<string, any>>; components: { schemas: Record<string, unknown> } };

  it("lints clean with Spectral's OpenAPI ruleset (recommended: no errors, no warnings)", async () => {
    const spectral = new Spectral();
    // One rule off: it wants every scope listed in an OAuth flow, but OpenAPI 3.1 (4.8.30 Security Requirement
    // Object) lets other schemes list "role names which are required for the execution": our scopes on a bearer
    // API key. The next test checks each operation's requirement against the route table instead.
    spectral.setRuleset({ extends: [[oas as never, 'recommended']], rules: { 'oas3-operation-security-defined': 'off' } } as never);
    const results = await spectral.run(new Document(JSON.stringify(document, null, 2), spectralParsers.Json, 'openapi.json'));
    const findings = results.map((r) => `${r.code} ${r.path.join('.')}: ${r.message}`);
    expect(findings).toEqual([]);
  });

  it('describes every API route of the route table, and nothing else', () => {
    const described = Object.entries(document.paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
    const api = routes.filter((r) => !r.path.startsWith('/console')).map(routeKey);
    expect(described.sort()).toEqual(api.sort());
  });

  it('states each route\'s scopes as its security requirement', () => {
    for (const route of routes.filter((r) => !r.path.startsWith('/console'))) {
      const op = document.paths[route.path]![route.method.toLowerCase()]!;
      expect(op.security, routeKey(route)).toEqual(route.scope ? [{ apiKey: [route.scope, ...(route.alsoRequires ? [route.alsoRequires] : [])] }] : []);
    }
  });

  it('is valid JSON Schema 2020-12 throughout, and its examples satisfy their own schemas', () => {
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema({ $id: 'leadlog', components: document.components } as never);
    let checked = 0;
    for (const ops of Object.values(document.paths)) {
      for (const op of Object.values(ops)) {
        const media = [op.requestBody?.content?.['application/json'], ...Object.values(op.responses as Record<string, any>).map((r) => r.content?.['application/json'])];
        for (const m of media) {
          if (!m?.example) continue;
          const validate = ajv.compile({ $ref: `leadlog${m.schema.$ref}` });
          expect(validate(m.example), `${op.operationId}: ${JSON.stringify(validate.errors)}`).toBe(true);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(8);
  });

  it('shows the event input exactly as the validator refuses it: unknown fields are not allowed', () => {
    const input = document.components.schemas.EventInput as { additionalProperties: unknown; required: string[] };
    expect(input.additionalProperties).toBe(false);
    expect(input.required.sort()).toEqual(['event_type', 'source', 'source_type']);
  });
});

describe('the response check every integration test runs (test/support/openapi-validator.ts)', async () => {
  const { checkResponse } = await import('../support/openapi-validator.js');
  const event = { id: 'e1', org_id: 'o', lead_id: 'l', source_type: 'direct', source: 'web', event_type: 'product_viewed', payload: {}, occurred_at: '2026-11-23T00:00:00.000Z', received_at: '2026-11-23T00:00:00.000Z', expires_at: '2027-02-21T00:00:00.000Z', schema_version: '1' };

  it('passes a described answer', () => {
    expect(checkResponse('GET', '/v1/events/e1', 200, 'application/json', JSON.stringify(event))).toBeUndefined();
    expect(checkResponse('GET', '/v1/nowhere', 404, 'application/problem+json', JSON.stringify({ type: 'https://leadlog.dev/problems/not-found', title: 'Not found', status: 404, detail: 'x' }))).toBeUndefined();
  });

  it('catches an undocumented field, a wrong type, a wrong media type and an undescribed body', () => {
    expect(checkResponse('GET', '/v1/events/e1', 200, 'application/json', JSON.stringify({ ...event, extra: 1 }))).toMatch(/additional properties/);
    expect(checkResponse('GET', '/v1/events/e1', 200, 'application/json', JSON.stringify({ ...event, received_at: 'yesterday' }))).toMatch(/received_at/);
    expect(checkResponse('GET', '/v1/events/e1', 404, 'application/json', '{}')).toMatch(/content-type application\/json/);
    expect(checkResponse('POST', '/v1/events', 201, 'application/json', JSON.stringify(event))).toMatch(/must have required property 'event'/);
  });
});
