/**
 * Junk identity values (contract section 8, v1.2; docs/identity.md): placeholders people type into lead forms
 * instead of their own e-mail or phone. Many unrelated people type the same one, so a junk value never links an
 * event to a lead or merges two leads; it stays in the event (payload, raw bytes), unlinked. Plain data: the rules
 * that read it are `isJunkIdentity` in shared/domain/identity.ts. Values are as identities are normalized: e-mails
 * trimmed and lower-cased, phones in E.164.
 *
 * A wrong merge is worse than a missed one, but a missed link is not free either: a rule here must match values that
 * many different people type, never a value one real person may own. Hence two lists of local parts:
 * - JUNK_LOCAL_PARTS say "I have no e-mail" or are keyboard filler: junk at any domain (noemail@gmail.com).
 * - PLACEHOLDER_LOCAL_PARTS are junk only at a PLACEHOLDER_DOMAIN (no@email.com, test@example.com): `no@acme.com` or
 *   `a@acme.com` may be a real person's mailbox at their own domain.
 * Reserved documentation domains (example.com, .test, …) are placeholder domains, not junk domains: a distinct address
 * there (ana@example.com) stays an identity, as integrators' tests and samples use them for distinct people.
 */

/** Whole addresses that are junk, whatever the rules below say. */
export const JUNK_EMAILS: readonly string[] = [
  'test@test.com', 'no@email.com', 'none@none.com', 'asdf@asdf.com', 'a@a.com', 'email@email.com', 'mail@mail.com',
  'noemail@noemail.com', 'no@no.com', 'x@x.com', 'abc@abc.com', 'fake@fake.com', 'null@null.com', 'teste@teste.com',
];

/** Local parts that are junk at any domain: they say there is no address, or are keyboard filler. */
export const JUNK_LOCAL_PARTS: readonly string[] = [
  'none', 'noemail', 'no-email', 'no_email', 'no.email', 'nomail', 'no-mail', 'noaddress', 'null', 'nil', 'na', 'n/a',
  'asdf', 'asdfasdf', 'asdfgh', 'qwerty', 'qwe', 'fake', 'fakeemail', 'donotemail', 'dontemail', 'notprovided',
  'not-provided', 'unknown', 'xxx', 'xxxx', 'xxxxx', 'sememail', 'semeemail', 'naotem', 'test', 'testing', 'teste',
];

/** Local parts that are junk at a placeholder domain only (`no@email.com`, `a@test.com`, `email@example.com`). */
export const PLACEHOLDER_LOCAL_PARTS: readonly string[] = [
  'no', 'a', 'b', 'x', 'abc', 'email', 'mail', 'e-mail', 'user', 'name', 'yourname', 'your.name', 'youremail', 'you',
  'me', 'someone', 'somebody', 'anonymous', 'nobody', 'noreply', 'no-reply', 'info', 'sample', 'demo', 'example',
];

/**
 * Domains nobody's mailbox lives at, as typed into forms: the reserved documentation domains (RFC 2606, RFC 6761) and
 * the usual placeholders. Also any domain under the reserved top-level names in PLACEHOLDER_TLDS.
 */
export const PLACEHOLDER_DOMAINS: readonly string[] = [
  'example.com', 'example.org', 'example.net', 'test.com', 'email.com', 'mail.com', 'none.com', 'no.com', 'asdf.com',
  'a.com', 'abc.com', 'domain.com', 'fake.com', 'null.com', 'noemail.com', 'teste.com', 'xxx.com', 'x.com', 'email.com.br',
];

/** Reserved top-level names (RFC 2606, RFC 6761): no real mailbox is under them. */
export const PLACEHOLDER_TLDS: readonly string[] = ['test', 'example', 'invalid', 'localhost'];

/**
 * Phones. A national number (the digits after the country code) is junk when it is one digit repeated
 * (`+1 111-111-1111`, `+55 11 11111-1111`), or wholly a run of consecutive digits up or down of at least
 * SEQUENTIAL_MIN_DIGITS without wrapping (`1234567890`, `0123456789`, `9876543210`; but not `9012345678`, a real
 * Japanese mobile's shape), or a number of the NANP's fictional range 555-0100…0199 (any area code:
 * +1 NPA 555 01XX). Also when, after a prefix of 2 or 3 digits (an area code), the rest is one digit repeated 9 or more
 * times (`+55 11 99999-9999`, `+55 11 00000-0000`: a mobile form's mask filled in). Eight (`+44 20 7777 7777`,
 * `+49 30 88888888`, `+1 212 222-2222` read as 21 + 22222222) are real lines' shapes and are not junk; nor is a run after
 * an area code (`+55 11 98765-4321`).
 */
export const SEQUENTIAL_MIN_DIGITS = 7;
export const NANP_FICTIONAL = /^\+1\d{3}55501\d{2}$/;
/** A national number whose subscriber part (after a 2- or 3-digit area code) is one digit 9 or more times: a mask filled in. */
export const PLACEHOLDER_SUBSCRIBER = /^\d{2,3}(\d)\1{8,}$/;

/** At most this many values in an org's own list (PUT /v1/settings/identity). */
export const MAX_IGNORED_IDENTITIES = 1_000;
