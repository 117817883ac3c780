/**
 * Key layout of the events table (shared/definitions/tables.ts). Org ids never contain '#', so
 * `${org}#…` prefixes cannot collide across orgs.
 */
export const eventKeysFor = {
  pk: (orgId: string, id: string) => `${orgId}#${id}`,
  lead: (orgId: string, leadId: string) => `${orgId}#${leadId}`,
  day: (orgId: string, day: string) => `${orgId}#${day}`,
  flow: (orgId: string, flowId: string) => `${orgId}#${flowId}`,
  time: (occurredAt: string, id: string) => `${occurredAt}#${id}`,
};

export const ORG_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
