/**
 * Masking benchmark (issue #20, contract section 3): maskEvent over events carrying free text, keys and ids of
 * 10 KB, 100 KB and 1 MB in adversarial shapes (what made the old backtracking patterns quadratic, and their
 * cousins). Masking must cost time linear in the input's size: each ×10 in size may cost at most ×12 in time
 * (printed PASS/FAIL per ratio; nothing asserted, as every benchmark here).
 * `BENCH_SKIP_MASKING=1 npm run bench` skips it; `npx tsx test/bench/masking-bench.ts` runs it alone.
 */
import { randomBytes } from 'node:crypto';
import { configurePseudonymKey, maskEvent } from '../../shared/domain/masking.js';

const SIZES = [10_000, 100_000, 1_000_000] as const;
/** ×10 in size, at most ×12 in time. */
const MAX_RATIO = 12;

/** `text` repeated to exactly `size` characters. */
const fill = (text: string, size: number) => text.repeat(Math.ceil(size / text.length)).slice(0, size);

/** Each case: where the adversarial string goes in an event, and the string of a given size. */
const cases: { name: string; event: (text: string) => Record<string, unknown> }[] = [
  { name: "'a'… then '@' (the 44 s read)", event: (text) => ({ reason: text }) },
  { name: 'many dots after an @', event: (text) => ({ payload: { answer: text } }) },
  { name: 'many +', event: (text) => ({ payload: { note: text } }) },
  { name: 'digits with separators after a +', event: (text) => ({ payload: { note: text } }) },
  { name: '@@@@', event: (text) => ({ payload: { note: text } }) },
  { name: 'form-encoded %40 and %2B', event: (text) => ({ raw_payload: { body: text } }) },
  { name: 'mixed e-mails and phones (all masked)', event: (text) => ({ payload: { responses: [{ field: 'notes', type: 'text', value: text }] } }) },
  { name: 'a long camelCase key', event: (text) => ({ payload: { [text]: 'x' } }) },
  { name: 'a lead_id (id masking)', event: (text) => ({ lead_id: text }) },
];
const shapes: ((size: number) => string)[] = [
  (n) => `${'a'.repeat(n - 1)}@`,
  (n) => `a@${fill('b.', n - 2)}`,
  (n) => '+'.repeat(n),
  (n) => `+1${fill(' 2-3.(4)', n - 2)}`,
  (n) => '@'.repeat(n),
  (n) => fill('x%40y%2B1+', n),
  (n) => fill('ana@example.com +5511999999999 ', n),
  (n) => fill('aBcDEFgh', n),
  (n) => `${'a'.repeat(n - 13)}@example.com`,
];

/**
 * Milliseconds per masking of each event: 7 rounds, each measuring every size in turn (at least 100 ms and 3 runs
 * each), and per size the fastest round: a busy machine slows a round, not a size, so the ratios stay honest.
 */
function msPerMask(events: Record<string, unknown>[]): number[] {
  const best = events.map(() => Infinity);
  for (let round = 0; round < 7; round++) {
    events.forEach((event, i) => {
      let runs = 0;
      const started = performance.now();
      while (runs < 3 || performance.now() - started < 100) {
        maskEvent(event);
        runs++;
      }
      best[i] = Math.min(best[i]!, (performance.now() - started) / runs);
    });
  }
  return best;
}

export function maskingBenchmarks(report: (line: string) => void): { passed: number; failed: number } {
  report(`\n## PII masking on inputs of 10 KB, 100 KB, 1 MB: each ×10 in size at most ×${MAX_RATIO} in time`);
  let passed = 0;
  let failed = 0;
  cases.forEach(({ name, event }, i) => {
    const times = msPerMask(SIZES.map((size) => event(shapes[i]!(size))));
    const ratios = times.slice(1).map((t, k) => t / times[k]!);
    const verdicts = ratios.map((r) => (r <= MAX_RATIO ? 'PASS' : 'FAIL'));
    for (const verdict of verdicts) verdict === 'PASS' ? passed++ : failed++;
    report(`${name.padEnd(62)} ${times.map((t) => `${t.toFixed(3)} ms`.padStart(11)).join(' ')}   ` +
      `×${ratios[0]!.toFixed(1)} ${verdicts[0]}  ×${ratios[1]!.toFixed(1)} ${verdicts[1]}`);
  });
  report(`masking: ${passed} ratios PASS, ${failed} FAIL`);
  return { passed, failed };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  configurePseudonymKey(randomBytes(32).toString('base64url')); // run alone: any key (npm run bench sets the local one)
  maskingBenchmarks((line) => console.log(line));
}
