import fc from 'fast-check';
import { describe, it } from 'vitest';
import { leadconduitEventValidator, leadconduitFixtures } from '../fixtures/leadconduit/validator.js';
import { eventFieldsProperty, idsProperty, leadConduitProperty, mappingsProperty } from '../fuzz/leak.js';

/** The leak property with a fixed seed (`npm run fuzz -- --runs N` runs it longer). */
const RUNS = Number(process.env.LEAK_RUNS ?? 300);

/** Each generated LeadConduit event is checked against LeadConduit's published Event schema: the shapes cannot drift. */
const validate = (event: unknown) => {
  const check = leadconduitEventValidator();
  return check(event) ? undefined : JSON.stringify(check.errors?.slice(0, 3));
};

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

  it('in LeadConduit events (issue #23): typed values, phone_1..3, address_1/2, dob, ssn, reasons, appended data, URIs and bodies of every content type', () => {
    fc.assert(leadConduitProperty(Object.values(leadconduitFixtures()), validate), { numRuns: RUNS, seed: 20261206 });
  });
});
