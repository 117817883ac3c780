import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MAX_EVENT_PATTERN_CHARACTERS, matchesPattern, validatePattern, wildcardMatches } from '../../shared/domain/event-pattern.js';
import { eventRules } from '../../shared/definitions/event-rules.js';
import { parseJsonLossless } from '../../shared/domain/json.js';

// The example event and patterns of AWS's "Amazon EventBridge event patterns" and content-filtering pages.
const ec2 = {
  version: '0',
  id: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
  'detail-type': 'EC2 Instance State-change Notification',
  source: 'aws.ec2',
  account: '111122223333',
  time: '2017-12-22T18:43:48Z',
  region: 'us-west-1',
  resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0'],
  detail: { 'instance-id': 'i-1234567890abcdef0', state: 'terminated', 'c-count': 5, 'd-count': 3, 'x-limit': 301.8, 'source-ip': '10.0.0.123', FileName: 'image.PNG' },
};

describe('EventBridge pattern matching (AWS documented examples)', () => {
  it('matches exact values, nested objects and arrays (any element)', () => {
    expect(matchesPattern(ec2, { source: ['aws.ec2'], 'detail-type': ['EC2 Instance State-change Notification'] })).toBe(true);
    expect(matchesPattern(ec2, { source: ['aws.s3'] })).toBe(false);
    expect(matchesPattern(ec2, { detail: { state: ['running', 'terminated'] } })).toBe(true);
    expect(matchesPattern(ec2, { resources: ['arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0', 'arn:aws:ec2:us-east-1:111122223333:instance/i-x'] })).toBe(true);
    expect(matchesPattern(ec2, { detail: { missing: ['x'] } })).toBe(false);
  });

  it('prefix, suffix, and their equals-ignore-case forms', () => {
    expect(matchesPattern(ec2, { time: [{ prefix: '2017-12-22' }] })).toBe(true);
    expect(matchesPattern(ec2, { time: [{ prefix: '2017-10-02' }] })).toBe(false);
    expect(matchesPattern(ec2, { detail: { FileName: [{ suffix: '.png' }] } })).toBe(false);
    expect(matchesPattern(ec2, { detail: { FileName: [{ suffix: { 'equals-ignore-case': '.png' } }] } })).toBe(true);
    expect(matchesPattern({ service: 'EventBridge' }, { service: [{ prefix: { 'equals-ignore-case': 'eventb' } }] })).toBe(true);
  });

  it('anything-but with a value, a list, a number, prefix, suffix, ignore-case and wildcard', () => {
    expect(matchesPattern(ec2, { detail: { state: [{ 'anything-but': 'initializing' }] } })).toBe(true);
    expect(matchesPattern(ec2, { detail: { state: [{ 'anything-but': ['stopped', 'terminated'] }] } })).toBe(false);
    expect(matchesPattern({ 'x-limit': 123 }, { 'x-limit': [{ 'anything-but': 123 }] })).toBe(false);
    expect(matchesPattern({ 'x-limit': 124 }, { 'x-limit': [{ 'anything-but': [100, 200, 300] }] })).toBe(true);
    expect(matchesPattern(ec2, { region: [{ 'anything-but': { prefix: 'us-' } }] })).toBe(false);
    expect(matchesPattern({ FileName: 'a.jpg' }, { FileName: [{ 'anything-but': { suffix: '.png' } }] })).toBe(true);
    expect(matchesPattern({ state: 'INITIALIZING' }, { state: [{ 'anything-but': { 'equals-ignore-case': 'initializing' } }] })).toBe(false);
    expect(matchesPattern({ FilePath: '/usr/lib/x' }, { FilePath: [{ 'anything-but': { wildcard: '*/lib/*' } }] })).toBe(false);
  });

  it('numeric ranges, exists, equals-ignore-case, wildcard, cidr and empty values', () => {
    expect(matchesPattern(ec2, { detail: { 'c-count': [{ numeric: ['>', 0, '<=', 5] }], 'd-count': [{ numeric: ['<', 10] }], 'x-limit': [{ numeric: ['=', 301.8] }] } })).toBe(true);
    expect(matchesPattern(ec2, { detail: { 'c-count': [{ numeric: ['>', 5] }] } })).toBe(false);
    expect(matchesPattern({ n: '5' }, { n: [{ numeric: ['>', 0] }] })).toBe(false);
    expect(matchesPattern(ec2, { detail: { state: [{ exists: true }] } })).toBe(true);
    expect(matchesPattern(ec2, { detail: { 'no-such-key': [{ exists: false }] } })).toBe(true);
    expect(matchesPattern(ec2, { detail: { state: [{ exists: false }] } })).toBe(false);
    expect(matchesPattern({ name: 'ALICE' }, { name: [{ 'equals-ignore-case': 'alice' }] })).toBe(true);
    expect(matchesPattern({ EventBusArn: 'arn:aws:events:us-east-1:123456789012:event-bus/myEventBus' }, { EventBusArn: [{ wildcard: 'arn:aws:events:us-east-1:*:event-bus/*' }] })).toBe(true);
    expect(matchesPattern(ec2, { detail: { 'source-ip': [{ cidr: '10.0.0.0/24' }] } })).toBe(true);
    expect(matchesPattern(ec2, { detail: { 'source-ip': [{ cidr: '10.0.1.0/24' }] } })).toBe(false);
    expect(matchesPattern({ LastName: '' }, { LastName: [''] })).toBe(true);
    expect(matchesPattern({ Middle: null }, { Middle: [null] })).toBe(true);
  });

  it('$or across fields and nested patterns', () => {
    const pattern = { detail: { $or: [{ 'c-count': [{ numeric: ['>', 0, '<=', 5] }] }, { 'd-count': [{ numeric: ['<', 10] }] }, { 'x-limit': [{ numeric: ['>', 0, '<', 100] }] }] } };
    expect(matchesPattern(ec2, pattern)).toBe(true);
    expect(matchesPattern({ detail: { 'c-count': 9, 'd-count': 11, 'x-limit': 200 } }, pattern)).toBe(false);
    expect(matchesPattern(ec2, { source: ['aws.ec2'], $or: [{ region: ['eu-west-1'] }, { account: ['111122223333'] }] })).toBe(true);
  });
});

describe('EventBridge matching where AWS documents it (exists on leaves, missing parents, IPv6, lists, nested arrays)', () => {
  it('exists: true only on leaf values; exists: false also when a parent is missing', () => {
    const event = { detail: { state: { name: 'running' }, tags: [], ids: ['a'] } };
    expect(matchesPattern(event, { detail: { state: [{ exists: true }] } })).toBe(false); // an object is not a leaf
    expect(matchesPattern(event, { detail: { state: { name: [{ exists: true }] } } })).toBe(true);
    expect(matchesPattern(event, { detail: { state: [{ exists: false }] } })).toBe(true);
    expect(matchesPattern(event, { detail: { missing: { deeper: [{ exists: false }] } } })).toBe(true);
    expect(matchesPattern({ source: 'x' }, { detail: { anything: [{ exists: false }] } })).toBe(true);
    expect(matchesPattern({ source: 'x' }, { detail: { anything: [{ exists: true }] } })).toBe(false);
    expect(matchesPattern(event, { detail: { tags: [{ exists: true }] } })).toBe(false);
    expect(matchesPattern(event, { detail: { ids: [{ exists: true }] } })).toBe(true);
  });

  it('cidr for IPv4 and IPv6', () => {
    expect(matchesPattern({ ip: '2001:db8::1' }, { ip: [{ cidr: '2001:db8::/32' }] })).toBe(true);
    expect(matchesPattern({ ip: '2001:db9::1' }, { ip: [{ cidr: '2001:db8::/32' }] })).toBe(false);
    expect(matchesPattern({ ip: '2001:0db8:0000:0000:0000:0000:0000:00ff' }, { ip: [{ cidr: '2001:db8::/120' }] })).toBe(true);
    // event-ruler reads IPv6 as hex groups and colons only: a dotted tail is a plain string, never in a range.
    expect(matchesPattern({ ip: '::ffff:10.0.0.1' }, { ip: [{ cidr: '::ffff:0:0/96' }] })).toBe(false);
    expect(matchesPattern({ ip: '10.0.0.1' }, { ip: [{ cidr: '2001:db8::/32' }] })).toBe(false);
    expect(matchesPattern({ ip: '10.0.0.255' }, { ip: [{ cidr: '10.0.0.0/24' }] })).toBe(true);
    // A single address is an exact value (not a cidr): it matches the same address however written.
    expect(matchesPattern({ ip: '10.0.0.5' }, { ip: ['10.0.0.5'] })).toBe(true);
    expect(matchesPattern({ ip: '2001:0db8:0:0:0:0:0:1' }, { ip: ['2001:db8::1'] })).toBe(true);
    expect(matchesPattern({ ip: '2001:db8::2' }, { ip: ['2001:db8::1'] })).toBe(false);
  });

  it('anything-but with prefix, suffix and wildcard lists', () => {
    expect(matchesPattern({ region: 'us-east-1' }, { region: [{ 'anything-but': { prefix: ['eu-', 'us-'] } }] })).toBe(false);
    expect(matchesPattern({ region: 'ap-south-1' }, { region: [{ 'anything-but': { prefix: ['eu-', 'us-'] } }] })).toBe(true);
    expect(matchesPattern({ file: 'a.png' }, { file: [{ 'anything-but': { suffix: ['.jpg', '.png'] } }] })).toBe(false);
    expect(matchesPattern({ file: 'a.gif' }, { file: [{ 'anything-but': { wildcard: ['*.jpg', '*.png'] } }] })).toBe(true);
  });

  it('nested arrays in events are flattened', () => {
    expect(matchesPattern({ ids: [[1, 2], [3, [4]]] }, { ids: [4] })).toBe(true);
    expect(matchesPattern({ ids: [[1, 2], [3]] }, { ids: [{ numeric: ['>', 2.5] }] })).toBe(true);
    expect(matchesPattern({ items: [[{ sku: 'a' }], [{ sku: 'b' }]] }, { items: { sku: ['b'] } })).toBe(true);
  });
});

describe('patterns EventBridge refuses are refused, with the reason', () => {
  const refused: [string, unknown, RegExp][] = [
    ['an empty leaf array', { source: [] }, /empty arrays/],
    ['an empty object', { detail: {} }, /empty objects/],
    ['a bare value instead of an array', { source: 'leadlog' }, /must be an object or an array/],
    ['several keys in one match object', { source: [{ prefix: 'a', suffix: 'b' }] }, /only one key/],
    ['an unknown operator', { source: [{ 'starts-with': 'a' }] }, /unrecognized match type/],
    ['numeric with the upper bound first', { n: [{ numeric: ['<', 10, '>', 0] }] }, /too many elements|lower bound/],
    ['numeric with bottom above top', { n: [{ numeric: ['>', 10, '<', 5] }] }, /bottom must be less than top/],
    ['numeric with a string bound', { n: [{ numeric: ['>', '5'] }] }, /must be numeric/],
    ['numeric with an unknown operator', { n: [{ numeric: ['!=', 5] }] }, /unrecognized numeric range operator/],
    ['$or with one branch', { $or: [{ source: ['a'] }] }, /at least 2/],
    ['$or that is not a list of objects', { $or: { source: ['a'] } }, /array of objects/],
    ['a /32 IPv4 CIDR', { ip: [{ cidr: '10.0.0.1/32' }] }, /IPv4 mask bits must be < 32/],
    ['a /128 IPv6 CIDR', { ip: [{ cidr: '2001:db8::1/128' }] }, /IPv6 mask bits must be < 128/],
    ['a malformed CIDR', { ip: [{ cidr: '10.0.0/8' }] }, /invalid IP address in CIDR/],
    ['a CIDR without a mask', { ip: [{ cidr: '10.0.0.5' }] }, /one '\/' required/],
    ['exists that is not a boolean', { a: [{ exists: 'yes' }] }, /true or false/],
    ['consecutive wildcards', { a: [{ wildcard: 'a**b' }] }, /consecutive wildcard/],
    ['anything-but mixing numbers and strings', { a: [{ 'anything-but': ['a', 1] }] }, /all values are numbers or all are strings/],
    ['anything-but with null', { a: [{ 'anything-but': [null] }] }, /all values are numbers or all are strings/],
    ['anything-but with an unknown operator', { a: [{ 'anything-but': { exists: true } }] }, /unsupported anything-but/],
    ['a match value that is an array', { a: [['x']] }, /match value must be/],
  ];
  for (const [what, pattern, reason] of refused) {
    it(what, () => {
      const problems = validatePattern(pattern);
      expect(problems.length, JSON.stringify(pattern)).toBeGreaterThan(0);
      expect(problems.join('; ')).toMatch(reason);
    });
  }

  it('accepts what EventBridge accepts, the shipped rules included', () => {
    for (const pattern of [
      { source: ['aws.ec2'], detail: { state: ['running', null, 5, true] } },
      { n: [{ numeric: ['>', 0, '<=', 5] }, { numeric: ['=', 3] }, { numeric: ['<', 10] }] },
      { ip: [{ cidr: '10.0.0.0/24' }, { cidr: '2001:db8::/32' }, { cidr: '10.0.0.5/31' }, '10.0.0.5'] },
      { a: [{ prefix: { 'equals-ignore-case': 'ab' } }, { 'anything-but': { prefix: ['a', 'b'] } }, { 'anything-but': [1, 2] }] },
      { $or: [{ a: ['x'] }, { b: [{ exists: false }] }] },
    ]) expect(validatePattern(pattern), JSON.stringify(pattern)).toEqual([]);
    for (const rule of eventRules) expect(validatePattern(rule.pattern), rule.id).toEqual([]);
  });
});


describe('wildcards: event-ruler syntax, matched without backtracking', () => {
  it('a pathological pattern against a 50-character lead id answers at once (it took 109 s as a RegExp)', () => {
    const pattern = '*a*a*a*a*a*a*a*a*a*a*b';
    expect(validatePattern({ lead_id: [{ wildcard: pattern }] })).toEqual([]);
    expect(matchesPattern({ lead_id: 'a'.repeat(50) }, { lead_id: [{ wildcard: pattern }] })).toBe(false);
    expect(matchesPattern({ lead_id: `${'a'.repeat(50)}b` }, { lead_id: [{ wildcard: pattern }] })).toBe(true);
    expect(matchesPattern({ lead_id: 'a'.repeat(50) }, { lead_id: [{ 'anything-but': { wildcard: [pattern, '*x*y*z'] } }] })).toBe(true);
  });

  it('\\* is a literal star and \\\\ a literal backslash, as in event-ruler', () => {
    expect(wildcardMatches('a*b', 'a\\*b')).toBe(true);
    expect(wildcardMatches('axb', 'a\\*b')).toBe(false);
    expect(wildcardMatches('a\\b', 'a\\\\b')).toBe(true);
    expect(wildcardMatches('a\\xyzb', 'a\\\\*b')).toBe(true);
    expect(matchesPattern({ f: 'x.y' }, { f: [{ wildcard: 'x.y' }] })).toBe(true);
    expect(matchesPattern({ f: 'xzy' }, { f: [{ wildcard: 'x.y' }] })).toBe(false); // no RegExp meaning leaks in
    expect(matchesPattern({ f: 'a\nb' }, { f: [{ wildcard: 'a*b' }] })).toBe(true); // * spans line breaks too
  });

  it('segments never overlap: the prefix and suffix need room of their own', () => {
    expect(wildcardMatches('ab', 'ab*ab')).toBe(false);
    expect(wildcardMatches('abab', 'ab*ab')).toBe(true);
    expect(wildcardMatches('aXbXc', 'a*b*c')).toBe(true);
    expect(wildcardMatches('acb', 'a*b*c')).toBe(false);
  });
});

describe('case-insensitive operators on long values decide on the right end of the value', () => {
  it('prefix, suffix and equals-ignore-case over a 100 KB value', () => {
    const value = `Ab${'x'.repeat(100_000)}Yz`;
    expect(matchesPattern({ v: value }, { v: [{ prefix: { 'equals-ignore-case': 'aBX' } }] })).toBe(true);
    expect(matchesPattern({ v: value }, { v: [{ prefix: { 'equals-ignore-case': 'aBy' } }] })).toBe(false);
    expect(matchesPattern({ v: value }, { v: [{ suffix: { 'equals-ignore-case': 'XyZ' } }] })).toBe(true);
    expect(matchesPattern({ v: value }, { v: [{ suffix: { 'equals-ignore-case': 'ayZ' } }] })).toBe(false);
    expect(matchesPattern({ v: value }, { v: [{ 'equals-ignore-case': value.toUpperCase() }] })).toBe(true);
    expect(matchesPattern({ v: `${value}!` }, { v: [{ 'equals-ignore-case': value }] })).toBe(false);
    expect(matchesPattern({ v: value }, { v: [{ 'anything-but': { 'equals-ignore-case': [value.toLowerCase()] } }] })).toBe(false);
    expect(matchesPattern({ v: 'İstanbul' }, { v: [{ 'equals-ignore-case': 'i̇stanbul' }] })).toBe(true); // İ lower-cases to two units
  });
});

describe('the size of a pattern, as EventBridge limits it', () => {
  it(`refuses a pattern over ${MAX_EVENT_PATTERN_CHARACTERS} characters with its size, and takes one at the limit`, () => {
    const sized = (n: number) => {
      const base = JSON.stringify({ a: [''] }).length;
      return { a: ['x'.repeat(n - base)] };
    };
    expect(JSON.stringify(sized(MAX_EVENT_PATTERN_CHARACTERS)).length).toBe(MAX_EVENT_PATTERN_CHARACTERS);
    expect(validatePattern(sized(MAX_EVENT_PATTERN_CHARACTERS))).toEqual([]);
    expect(validatePattern(sized(MAX_EVENT_PATTERN_CHARACTERS + 1)).join('; ')).toMatch(/2049 characters, over EventBridge's event pattern size limit of 2048/);
    expect(validatePattern({ a: [{ wildcard: '*a'.repeat(5_000) }] }).join('; ')).toMatch(/over EventBridge's event pattern size limit/);
  });
});

describe('EventBridge where its documentation is stricter than event-ruler', () => {
  it('refuses the undocumented `exactly` operator and numeric bounds outside ±1e9', () => {
    expect(validatePattern({ a: [{ exactly: 'x' }] }).join('; ')).toMatch(/unrecognized match type exactly/);
    expect(validatePattern({ n: [{ numeric: ['>', 5e9] }] }).join('; ')).toMatch(/outside EventBridge's numeric range/);
    expect(validatePattern({ n: [{ numeric: ['>', 0, '<', 1.5e9] }] }).join('; ')).toMatch(/outside EventBridge's numeric range/);
    expect(validatePattern({ n: [{ numeric: ['>=', -1e9, '<=', 1e9] }] })).toEqual([]);
  });
});

describe("aws/event-ruler's published patterns (test/fixtures/event-ruler)", () => {
  const cases = parseJsonLossless(readFileSync(new URL('../fixtures/event-ruler/cases.json', import.meta.url), 'utf8')) as {
    invalid: { from: string; pattern: unknown }[];
    valid: { from: string; pattern: unknown }[];
    matches: { from: string; pattern: Record<string, unknown>; yes: unknown[]; no: unknown[] }[];
  };

  it(`refuses each of the ${cases.invalid.length} patterns event-ruler refuses`, () => {
    for (const { from, pattern } of cases.invalid) expect(validatePattern(pattern), `${from}: ${JSON.stringify(pattern)}`).not.toEqual([]);
  });

  it(`accepts each of the ${cases.valid.length} patterns event-ruler accepts`, () => {
    for (const { from, pattern } of cases.valid) expect(validatePattern(pattern), `${from}: ${JSON.stringify(pattern)}`).toEqual([]);
  });

  it('matches what event-ruler matches, and nothing else', () => {
    for (const { from, pattern, yes, no } of cases.matches) {
      expect(validatePattern(pattern), from).toEqual([]);
      const [field] = Object.keys(pattern);
      for (const value of yes) expect(matchesPattern({ [field!]: value }, pattern), `${from}: ${JSON.stringify(value)} should match`).toBe(true);
      for (const value of no) expect(matchesPattern({ [field!]: value }, pattern), `${from}: ${JSON.stringify(value)} should not match`).toBe(false);
    }
  });
});
