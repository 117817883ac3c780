import { defaultLeadConduitInboxDependencies } from '../shared/adapters/container.js';
import { builtOnFirstCall } from '../shared/http/handler.js';
import { createInboxHandler } from '../shared/stream/inbox-handler.js';

/** LeadConduit's Event Streaming inbox: S3 notifications (via SQS) → each object ingested (shared/domain/leadconduit/inbox.ts). */
export const handler = builtOnFirstCall(() => createInboxHandler(defaultLeadConduitInboxDependencies()));
