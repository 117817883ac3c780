import { describe, expect, it } from 'vitest';
import { renameInResource } from '../../shared/domain/audit.js';

/** Erasure's audit phase (section 9): which parts of an audited resource name an erased lead, and what replaces them. */
describe('renameInResource', () => {
  const names = new Set(['ana@example.com', 'José Silva', 'lead_1', 'a/b']);

  it('replaces a path segment or query value naming a member, compared percent-decoded', () => {
    expect(renameInResource('/v1/leads/ana%40example.com', names, 'er_1')).toBe('/v1/leads/er_1');
    expect(renameInResource('/v1/leads/ana@example.com/events', names, 'er_1')).toBe('/v1/leads/er_1/events');
    expect(renameInResource('/v1/leads/Jos%C3%A9%20Silva/events', names, 'er_1')).toBe('/v1/leads/er_1/events');
    expect(renameInResource('/v1/leads/a%2Fb', names, 'er_1')).toBe('/v1/leads/er_1');
    expect(renameInResource('/v1/flows/f1/events?lead_id=lead_1&type=x', names, 'er_1')).toBe('/v1/flows/f1/events?lead_id=er_1&type=x');
  });

  it('finds an id holding a literal = or & in a path segment, as given or encoded, and in a query value (red-team finding 5)', () => {
    const odd = new Set(['name=ana@example.com', 'ana&audit2@example.com']);
    expect(renameInResource('/v1/leads/name=ana@example.com/events', odd, 'er_2')).toBe('/v1/leads/er_2/events');
    expect(renameInResource('/v1/leads/name%3Dana%40example.com/events', odd, 'er_2')).toBe('/v1/leads/er_2/events');
    expect(renameInResource('/v1/leads/ana&audit2@example.com/events', odd, 'er_2')).toBe('/v1/leads/er_2/events');
    expect(renameInResource('/v1/leads/ana%26audit2%40example.com', odd, 'er_2')).toBe('/v1/leads/er_2');
    expect(renameInResource('/v1/flows/f1/events?lead_id=name%3Dana%40example.com&type=x', odd, 'er_2')).toBe('/v1/flows/f1/events?lead_id=er_2&type=x');
    expect(renameInResource('/v1/flows/f1/events?type=x&lead_id=ana%26audit2%40example.com', odd, 'er_2')).toBe('/v1/flows/f1/events?type=x&lead_id=er_2');
    // A part of such an id is not the id: `name` and `ana@example.com` alone are other leads.
    expect(renameInResource('/v1/leads/name/events', odd, 'er_2')).toBeUndefined();
    expect(renameInResource('/v1/flows/f1/events?name=ana%40example.com', odd, 'er_2')).toBeUndefined();
  });

  it('leaves a resource alone when no whole part is a member (a prefix, a longer id, another lead)', () => {
    for (const resource of ['/v1/leads/lead_10', '/v1/leads/xlead_1', '/v1/leads/bob@example.com', '/v1/audit', '', '/v1/leads/%E0%A4%A', 'erasure/er_1']) {
      expect(renameInResource(resource, names, 'er_1'), resource).toBeUndefined();
    }
  });
});
