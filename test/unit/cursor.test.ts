import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../shared/domain/cursor.js';
import { ValidationError } from '../../shared/domain/errors.js';

const position = { partition: 0, timeKey: '2026-11-23T14:30:45.123Z#01a20917-9017-76d7-85c9-c1c7345c0612' };

describe('cursors', () => {
  it('round-trip for the same org and query', () => {
    const cursor = encodeCursor(position, 'org_a', { route: 'timeline', leadId: 'l1' });
    expect(decodeCursor(cursor, 'org_a', { route: 'timeline', leadId: 'l1' })).toEqual(position);
  });

  it('are refused for another org, another query, or when altered', () => {
    const cursor = encodeCursor(position, 'org_a', { route: 'timeline', leadId: 'l1' });
    expect(() => decodeCursor(cursor, 'org_b', { route: 'timeline', leadId: 'l1' })).toThrow(ValidationError);
    expect(() => decodeCursor(cursor, 'org_a', { route: 'timeline', leadId: 'l2' })).toThrow(ValidationError);
    const body = JSON.parse(Buffer.from(cursor, 'base64url').toString());
    body.t = body.t.replace('14:30', '14:31');
    expect(() => decodeCursor(Buffer.from(JSON.stringify(body)).toString('base64url'), 'org_a', { route: 'timeline', leadId: 'l1' })).toThrow(ValidationError);
    expect(() => decodeCursor('not a cursor!', 'org_a', {})).toThrow(ValidationError);
  });
});
