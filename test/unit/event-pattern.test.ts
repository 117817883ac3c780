import { describe, expect, it } from 'vitest';
import { matchesPattern } from '../../shared/domain/event-pattern.js';

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
