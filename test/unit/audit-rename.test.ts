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

  it('leaves a resource alone when no whole part is a member (a prefix, a longer id, another lead)', () => {
    for (const resource of ['/v1/leads/lead_10', '/v1/leads/xlead_1', '/v1/leads/bob@example.com', '/v1/audit', '', '/v1/leads/%E0%A4%A', 'erasure/er_1']) {
      expect(renameInResource(resource, names, 'er_1'), resource).toBeUndefined();
    }
  });
});
