/**
 * JSON as the API sends it, with no digit lost: a number the browser cannot hold exactly (an 18-digit Shopify id)
 * is kept as its source text in a RawNumber (JSON.parse's source-text access, in every current browser).
 */
export class RawNumber {
  constructor(readonly source: string) {}
  toString(): string {
    return this.source;
  }
  toJSON(): string {
    return this.source;
  }
}

type Reviver = (this: unknown, key: string, value: unknown, context?: { source?: string }) => unknown;

const keepDigits: Reviver = (_key, value, context) => {
  if (typeof value === 'number' && context?.source !== undefined && String(value) !== context.source && /^-?\d+$/.test(context.source)) {
    return new RawNumber(context.source);
  }
  return value;
};

export function parseJson(text: string): unknown {
  return JSON.parse(text, keepDigits as (key: string, value: unknown) => unknown);
}

/** Pretty JSON text with RawNumbers written as their digits, not as strings. */
export function stringifyJson(value: unknown): string {
  const marks: string[] = [];
  // The holder's own value: a replacer's second argument has already been through toJSON.
  const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    const original = this[key];
    return original instanceof RawNumber ? `\u0000${marks.push(original.source) - 1}\u0000` : v;
  }, 2);
  return text.replace(/"\\u0000(\d+)\\u0000"/g, (_, i: string) => marks[Number(i)]!);
}

/** Masked values read like `j***@example.com`, `A***`, `***1234`: the API masked them for a key without pii:read. */
export function isMasked(value: unknown): boolean {
  return typeof value === 'string' && value.includes('***');
}
