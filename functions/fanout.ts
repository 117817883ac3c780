import { defaultFanoutDependencies, withPseudonymKey } from '../shared/adapters/container.js';
import { builtOnFirstCall } from '../shared/http/handler.js';
import { createFanoutHandler } from '../shared/stream/handler.js';

/** The events table's stream → the leadlog bus, the archive and the windowed alerts (shared/domain/fanout.ts). */
export const handler = withPseudonymKey('fanout', builtOnFirstCall(() => createFanoutHandler(defaultFanoutDependencies())));
