import { describe, expect, it } from 'vitest';
import { maskEmail, maskEvent, maskFreeText, maskPhone, maskPii, maskSsn, normalizeKey } from '../../shared/domain/masking.js';

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

describe('masking that cannot be dodged by spelling (section 9)', () => {
  it('normalizes key names: case, separators, camelCase, dotted', () => {
    expect(normalizeKey('firstName')).toBe('first_name');
    expect(normalizeKey('FIRST-NAME')).toBe('first_name');
    expect(normalizeKey('lead.EmailAddress')).toBe('email_address');
    expect(normalizeKey('IPAddress')).toBe('ip_address');
    const masked = maskPii({
      firstName: 'Ana', lastName: 'Silva', fullName: 'Ana Silva', emailAddress: 'ana@example.com', phoneNumber: '+5511999999999',
      mobile: '+14155550100', cell: '+14155550101', WhatsApp: '+5511988887777', CPF: '123.456.789-09', taxId: '12-3456789',
      dateOfBirth: '1990-05-17', dob: '17/05/1990', street: 'Rua Augusta 100', ip_address: '203.0.113.77', ip: '2001:db8:85a3:8d3:1319:8a2e:370:7348',
    });
    expect(masked).toEqual({
      firstName: 'A***', lastName: 'S***', fullName: 'A***', emailAddress: 'a***@example.com', phoneNumber: '+5511*********',
      mobile: '+1415*******', cell: '+1415*******', WhatsApp: '+5511*********', CPF: '***-**-8909', taxId: '***-**-6789',
      dateOfBirth: '1990', dob: '1990', street: 'R***', ip_address: '203.0.113.0', ip: '2001:db8:85a3::/48',
    });
  });

  it('masks e-mail addresses and phone numbers inside any string, and values typed as one', () => {
    expect(maskFreeText('Call me at +55 11 99999-8888 or write to ana@example.com, thanks')).toBe('Call me at +5511********* or write to a***@example.com, thanks');
    expect(maskFreeText('order 828758318460506337 on 2026-11-23')).toBe('order 828758318460506337 on 2026-11-23');
    expect(maskPii({ responses: [{ field: 'contact', type: 'email', value: 'ana@example.com' }, { field: 'mobile', type: 'phone_number', value: '+5511999999999' }, { field: 'goal', type: 'text', value: 'grow' }] }))
      .toEqual({ responses: [{ field: 'contact', type: 'email', value: 'a***@example.com' }, { field: 'mobile', type: 'phone_number', value: '+5511*********' }, { field: 'goal', type: 'text', value: 'grow' }] });
    expect(maskEvent({ reason: 'Duplicate of ana@example.com', payload: { question: 'Is +14155550100 on WhatsApp?' } })).toEqual({ reason: 'Duplicate of a***@example.com', payload: { question: 'Is +1415******* on WhatsApp?' } });
  });

  it("masks an org's own key names as names", () => {
    expect(maskPii({ nickName: 'Aninha', product: 'x' }, { extraNameKeys: new Set(['nick_name']) })).toEqual({ nickName: 'A***', product: 'x' });
  });
});
