/**
 * Where the scheduled LeadConduit pull finds each org's API key in AWS (plain data, shared by the keys CLI that stores
 * it, the puller that reads it and the CDK grant that allows only this prefix): Secrets Manager, `leadlog/leadconduit/<org>`.
 */
export const LEADCONDUIT_SECRET_PREFIX = 'leadlog/leadconduit/';
export const leadConduitKeySecretName = (orgId: string): string => `${LEADCONDUIT_SECRET_PREFIX}${orgId}`;
