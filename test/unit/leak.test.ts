import fc from 'fast-check';
import { describe, it } from 'vitest';
import { eventFieldsProperty, idsProperty, mappingsProperty } from '../fuzz/leak.js';

/** The leak property with a fixed seed (`npm run fuzz -- --runs N` runs it longer). */
const RUNS = Number(process.env.LEAK_RUNS ?? 300);

describe('no PII survives masking (property, fixed seed)', () => {
  it('in any event field, under any key spelling, at any depth, in arrays and inside free text', () => {
    fc.assert(eventFieldsProperty, { numRuns: RUNS, seed: 20261124 });
  });

  it('inside every id of the envelope (v1.2)', () => {
    fc.assert(idsProperty, { numRuns: RUNS, seed: 20261126 });
  });

  it('in what every provider mapping makes of a delivery (payload and raw payload)', () => {
    fc.assert(mappingsProperty, { numRuns: Math.ceil(RUNS / 3), seed: 20261125 });
  });
});
