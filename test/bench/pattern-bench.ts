/**
 * Pattern-matching benchmark (issue #20): the local bus's EventBridge matcher over event values of 10 KB, 100 KB
 * and 1 MB against pathological patterns. Matching must cost time linear in the value's size: each ×10 in size
 * may cost at most ×12 in time (printed PASS/FAIL per ratio; nothing asserted, as every benchmark here).
 * `BENCH_SKIP_PATTERNS=1 npm run bench` skips it; `npx tsx test/bench/pattern-bench.ts` runs it alone.
 */
import { matchesPattern } from '../../shared/domain/event-pattern.js';
import type { EventPattern } from '../../shared/definitions/event-rules.js';

const SIZES = [10_000, 100_000, 1_000_000] as const;
/** EventBridge's rule: ×10 in size, at most ×12 in time. */
const MAX_RATIO = 12;

/** Each case: a pattern on detail.lead_id and the value of a given size it is matched against (a near miss). */
const cases: { name: string; pattern: EventPattern; value: (size: number) => string }[] = [
  // Each value ends as the pattern's last segment wants and misses a middle segment, so every search runs to the end.
  { name: 'wildcard *a*a*a*a*a*a*a*a*a*a*b*c', pattern: { detail: { lead_id: [{ wildcard: '*a*a*a*a*a*a*a*a*a*a*b*c' }] } }, value: (n) => `${'a'.repeat(n - 1)}c` },
  { name: 'wildcard, 200 stars', pattern: { detail: { lead_id: [{ wildcard: `${'*ab'.repeat(200)}*x*c` }] } }, value: (n) => `${'ab'.repeat(n / 2 - 1)}ac` },
  { name: 'wildcard, a 500-character segment', pattern: { detail: { lead_id: [{ wildcard: `*${'a'.repeat(500)}b*` }] } }, value: (n) => 'a'.repeat(n) },
  {
    name: 'anything-but wildcard list',
    pattern: { detail: { lead_id: [{ 'anything-but': { wildcard: ['*a*a*a*a*a*b*c', '*x*y*z*', `*${'a'.repeat(100)}b*`, '\\**a*b*'] } }] } },
    value: (n) => `${'a'.repeat(n - 1)}c`,
  },
  {
    name: 'prefix/suffix (and ignore-case), anything-but prefix/suffix',
    pattern: { detail: { lead_id: [{ prefix: `${'a'.repeat(1000)}b` }, { suffix: { 'equals-ignore-case': `b${'A'.repeat(1000)}` } }, { prefix: { 'equals-ignore-case': 'aab' } }, { 'anything-but': { prefix: ['a', 'b'] } }, { 'anything-but': { suffix: ['x', 'a'] } }] } },
    value: (n) => 'a'.repeat(n),
  },
  { name: 'equals-ignore-case, cidr, exact IP', pattern: { detail: { lead_id: [{ 'equals-ignore-case': 'A'.repeat(100) }, { cidr: '10.0.0.0/8' }, '2001:db8::1', { 'anything-but': { 'equals-ignore-case': ['a', 'b'] } }] } }, value: (n) => '1:'.repeat(n / 2) },
];

/** Milliseconds per match: repeated until at least 200 ms have passed (and at least 3 times), the median of 5 rounds. */
function msPerMatch(event: unknown, pattern: EventPattern): number {
  const rounds: number[] = [];
  for (let round = 0; round < 5; round++) {
    let runs = 0;
    const started = performance.now();
    while (runs < 3 || performance.now() - started < 200) {
      matchesPattern(event, pattern);
      runs++;
    }
    rounds.push((performance.now() - started) / runs);
  }
  return rounds.sort((a, b) => a - b)[2]!;
}

export function patternBenchmarks(report: (line: string) => void): { passed: number; failed: number } {
  report(`\n## Pattern matching (local bus) on values of 10 KB, 100 KB, 1 MB: each ×10 in size at most ×${MAX_RATIO} in time`);
  let passed = 0;
  let failed = 0;
  for (const { name, pattern, value } of cases) {
    const times = SIZES.map((size) => msPerMatch({ source: 'leadlog', detail: { lead_id: value(size) } }, pattern));
    const ratios = times.slice(1).map((t, i) => t / times[i]!);
    const verdicts = ratios.map((r) => (r <= MAX_RATIO ? 'PASS' : 'FAIL'));
    for (const verdict of verdicts) verdict === 'PASS' ? passed++ : failed++;
    report(`${name.padEnd(62)} ${times.map((t) => `${t.toFixed(3)} ms`.padStart(11)).join(' ')}   ` +
      `×${ratios[0]!.toFixed(1)} ${verdicts[0]}  ×${ratios[1]!.toFixed(1)} ${verdicts[1]}`);
  }
  report(`pattern matching: ${passed} ratios PASS, ${failed} FAIL`);
  return { passed, failed };
}

if (import.meta.url === `file://${process.argv[1]}`) patternBenchmarks((line) => console.log(line));
