import { describe, expect, it } from 'vitest';
import { maskEmail, maskEvent, maskPhone, maskPii, maskSsn } from '../../shared/domain/masking.js';

describe('PII masking', () => {
  it('masks each kind as the contract says', () => {
    expect(maskEmail('john@example.com')).toBe('j***@example.com');
    expect(maskPhone('+5511999999999')).toBe('+5511*********');
    expect(maskPhone('+1 (555) 123-4567')).toBe('+1555*******');
    expect(maskPhone('5551234567')).toBe('555*******');
    expect(maskSsn('123-45-6789')).toBe('***-**-6789');
  });

  it('masks wherever the keys appear: nested, in arrays, dotted, prefixed', () => {
    const masked = maskPii({
      lead: { email: 'ana@example.com', first_name: 'Ana', 'lead.phone': '+5511999999999' },
      'lead.email': 'bob@example.com',
      buyers: [{ full_name: 'Bob Stone', ssn: '123456789' }],
      customer_email: 'c@d.io',
      product_name: 'Course',
      'email.valid': true,
    });
    expect(masked).toEqual({
      lead: { email: 'a***@example.com', first_name: 'A***', 'lead.phone': '+5511*********' },
      'lead.email': 'b***@example.com',
      buyers: [{ full_name: 'B***', ssn: '***-**-6789' }],
      customer_email: 'c***@d.io',
      product_name: 'Course',
      'email.valid': true,
    });
  });

  it('masks payload, raw_payload, lead_snapshot and appended, without touching the original', () => {
    const event = { id: 'x', payload: { email: 'a@b.co' }, raw_payload: { name: 'Ana' }, lead_snapshot: { last_name: 'Silva' }, appended: { phone: '5551234567' } };
    const masked = maskEvent(event);
    expect(masked).toEqual({ id: 'x', payload: { email: 'a***@b.co' }, raw_payload: { name: 'A***' }, lead_snapshot: { last_name: 'S***' }, appended: { phone: '555*******' } });
    expect(event.payload.email).toBe('a@b.co');
  });
});
