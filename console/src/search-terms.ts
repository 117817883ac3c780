/** What a search term is: an e-mail, a phone number, a provider ref (`stripe:cus_123`), else a lead id. */
export function classify(term: string): { by: 'email' | 'phone' | 'ref' | 'lead'; value: string } {
  const value = term.trim();
  if (value.includes('@')) return { by: 'email', value };
  if (/^\+?[\d\s().-]{6,}$/.test(value)) return { by: 'phone', value: value.replace(/[\s().-]/g, '') };
  if (/^[a-z0-9_]{1,40}:\S+$/.test(value)) return { by: 'ref', value };
  return { by: 'lead', value };
}
