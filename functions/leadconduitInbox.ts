import { withPseudonymKey, defaultLeadConduitInboxDependencies } from '../shared/adapters/container.js';
import { builtOnFirstCall } from '../shared/http/handler.js';
import { createInboxHandler } from '../shared/stream/inbox-handler.js';

/** LeadConduit's Event Streaming inbox: S3 notifications (via SQS) → each object ingested (shared/domain/leadconduit/inbox.ts). */
// withPseudonymKey: the seal of each event written (proof of record) is derived from the pseudonym secret.
export const handler = withPseudonymKey('leadconduitInbox', builtOnFirstCall(() => createInboxHandler(defaultLeadConduitInboxDependencies())));
